package web

import (
	"encoding/json"
	"strconv"
	"sync"

	"chatlab/sniff/event"
)

// Limits on what a View keeps, so that an hour of class, or a capture of
// a busy network, costs a bounded amount of memory.
const (
	// maxHistory is how many units, warnings and recoveries a page opened
	// late is given: the terminal's scrollback holds about as many
	// lines, and a page with more is too long to read anyway.
	maxHistory = 2000
	// maxHistoryBytes bounds the same by size: 2000 full-size records
	// would be 36 MiB of JSON, more than a lesson ever needs.
	maxHistoryBytes = 16 << 20
	// maxConns is how many connections the page shows; the lessons use
	// at most a handful, and a column each beyond a few dozen is
	// unreadable. Later connections are counted in one note.
	maxConns = 256
)

// View is an event.Sink that keeps what the page needs and streams it
// to every page open on it. It is also the http.Handler that serves the
// page (see ServeHTTP). The zero value is not ready: use New.
type View struct {
	title string
	next  chan struct{}

	mu      sync.Mutex
	hist    history
	conns   []*connState // in the order they were first seen
	byID    map[int]*connState
	other   *connState // connections beyond maxConns, or beyond the run's limit
	unseen  int        // connections beyond maxConns
	capture []byte     // the latest "capture" message
	done    []byte     // the "done" message, once the source has ended
	lesson  []byte     // the "lesson" message, if a lesson is shown
	section int        // the section shown, -1 before the first
	clients map[*client]struct{}
	public  bool // served beyond loopback: any Host is accepted
}

// New returns a View whose page is titled title.
func New(title string) *View {
	return &View{title: title, next: make(chan struct{}, 1), byID: map[int]*connState{},
		section: -1, clients: map[*client]struct{}{}}
}

// connState is what a View keeps of a connection: the page's columns
// come from the history, the pictures from these counts.
type connState struct {
	conn                      Conn
	packets, bytes, printable int
	hist                      [256]uint64
	sawSegment                bool   // count segments, not units
	final                     *Stats // from the Summary
	msg                       []byte // the latest "conn" message
}

func (c *connState) count(b []byte) {
	c.bytes += len(b)
	for _, x := range b {
		c.hist[x]++
		if x >= 0x20 && x < 0x7f || x == '\n' || x == '\r' || x == '\t' {
			c.printable++
		}
	}
}

func (c *connState) stats() Stats {
	if c.final != nil {
		return *c.final
	}
	s := Stats{Type: "stats", Conn: c.conn.ID, Proto: c.conn.Proto, ProtoName: c.conn.ProtoName,
		Packets: c.packets, Bytes: c.bytes, Hist: c.hist[:], Entropy: event.Entropy(&c.hist),
		Small: c.bytes < smallSample}
	if c.bytes > 0 {
		s.Printable = float64(c.printable) / float64(c.bytes)
	}
	return s
}

// Emit takes one event from the sniffer. It copies what it keeps, never
// waits for a page, and drops or coalesces what a slow page cannot take.
func (v *View) Emit(e event.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch e := e.(type) {
	case *event.Open:
		v.connOf(e.Conn)
	case *event.Recognised:
		if c := v.connOf(e.Conn); c != nil && c != v.other {
			c.conn = newConn(e.Conn)
			c.msg = encode(c.conn)
			v.broadcast(c.msg)
			v.dirty(c.conn.ID)
		}
	case *event.Segment:
		c := v.connOf(e.Conn)
		if !c.sawSegment {
			// Counting starts afresh: units were counted until now.
			*c = connState{conn: c.conn, msg: c.msg, sawSegment: true}
		}
		c.packets++
		c.count(e.Payload)
		v.dirty(c.conn.ID)
	case *event.Unit:
		c := v.connOf(e.Conn)
		if !c.sawSegment {
			// A source without segments (a relay tap): count the
			// units' bytes, each once.
			c.packets++
			c.count(e.Bytes)
			v.dirty(c.conn.ID)
		}
		if c == v.other {
			return
		}
		v.record(encode(newUnit(e)))
	case *event.Warning:
		v.record(encode(newWarning(e)))
	case *event.Recovery:
		v.record(encode(newRecovery(e)))
	case *event.Summary:
		v.summary(e)
	}
}

// Flush is a no-op: every page has its own writer, woken by Emit.
func (v *View) Flush() error { return nil }

// connOf returns the state of c, made on first sight; connections beyond
// maxConns, and a nil one, share v.other.
func (v *View) connOf(ec *event.Conn) *connState {
	if ec == nil {
		return v.otherConn()
	}
	if c, ok := v.byID[ec.ID]; ok {
		return c
	}
	if len(v.conns) >= maxConns {
		v.unseen++
		if v.unseen == 1 {
			v.record(encode(Note{Type: "note", Text: "more than " + strconv.Itoa(maxConns) +
				" connections: the later ones are summed in \"other connections\", not shown"}))
		}
		v.byID[ec.ID] = v.otherConn()
		return v.other
	}
	c := &connState{conn: newConn(ec)}
	c.msg = encode(c.conn)
	v.conns = append(v.conns, c)
	v.byID[ec.ID] = c
	v.broadcast(c.msg)
	return c
}

func (v *View) otherConn() *connState {
	if v.other == nil {
		v.other = &connState{conn: Conn{Type: "conn", ID: 0, Proto: "other", ProtoName: "other connections"}}
	}
	return v.other
}

func (v *View) summary(s *event.Summary) {
	set := func(c *connState, cs *event.ConnStats) {
		st := Stats{Type: "stats", Conn: c.conn.ID, Proto: protoKey(cs.Proto), ProtoName: cs.Proto.String(),
			Packets: cs.Packets, Bytes: cs.Bytes, Entropy: cs.Entropy, Printable: cs.Printable,
			IVReuse: cs.IVReuse, Hist: make([]uint64, 256), Final: true, Small: cs.Bytes < smallSample}
		if c == v.other {
			st.ProtoName = "other connections"
		}
		if cs.Hist != nil {
			copy(st.Hist, cs.Hist[:])
		}
		c.final = &st
		v.dirty(c.conn.ID)
	}
	for i := range s.Conns {
		cs := &s.Conns[i]
		c, ok := v.byID[cs.ID]
		if !ok || c == v.other {
			continue
		}
		set(c, cs)
	}
	if s.Overflow != nil {
		set(v.otherConn(), s.Overflow)
	}
	if s.Capture != nil {
		v.capture = encode(Capture{Type: "capture", Received: s.Capture.Received, Dropped: s.Capture.Dropped})
		v.broadcast(v.capture)
	}
}

// Done tells every page, and any opened later, that nothing more will
// come (a file has been read to its end), in a few words.
func (v *View) Done(text string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.done = encode(Note{Type: "done", Text: clip(text, maxText)})
	v.broadcast(v.done)
}

// record keeps msg in the history and sends it to every page.
func (v *View) record(msg []byte) {
	v.hist.add(msg)
	v.broadcast(msg)
}

func (v *View) broadcast(msg []byte) {
	for c := range v.clients {
		c.push(msg)
	}
}

func (v *View) dirty(id int) {
	for c := range v.clients {
		c.markStats(id)
	}
}

// statsMsg is the latest "stats" message of connection id.
func (v *View) statsMsg(id int) []byte {
	c := v.byID[id]
	if id == 0 {
		c = v.other
	}
	if c == nil {
		return nil
	}
	return encode(c.stats())
}

// snapshot is what a page opened now is sent first: the state, then the
// history. The caller holds v.mu.
func (v *View) snapshot() [][]byte {
	out := [][]byte{encode(struct {
		Type    string `json:"type"`
		Title   string `json:"title"`
		History int    `json:"history"`
	}{"start", v.title, maxHistory})}
	for _, c := range v.conns {
		out = append(out, c.msg)
	}
	if v.lesson != nil {
		out = append(out, v.lesson, sectionMsg(v.section))
	}
	for _, c := range v.conns {
		out = append(out, encode(c.stats()))
	}
	if v.other != nil {
		out = append(out, encode(v.other.stats()))
	}
	if v.capture != nil {
		out = append(out, v.capture)
	}
	out = v.hist.appendTo(out)
	if v.done != nil {
		out = append(out, v.done)
	}
	return out
}

// encode marshals a message. Every message type marshals, so an error
// is a broken invariant.
func encode(m any) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic("web: marshal: " + err.Error())
	}
	return b
}

// history is a ring of the latest messages, bounded in count and size.
type history struct {
	msgs  [][]byte
	start int // index of the oldest in msgs, once it is full
	size  int // bytes held
}

func (h *history) add(msg []byte) {
	h.size += len(msg)
	if len(h.msgs) < maxHistory {
		h.msgs = append(h.msgs, msg)
	} else {
		h.size -= len(h.msgs[h.start])
		h.msgs[h.start] = msg
		h.start = (h.start + 1) % len(h.msgs)
	}
	for h.size > maxHistoryBytes && len(h.msgs) > 1 {
		h.drop()
	}
}

// drop forgets the oldest message, compacting the ring.
func (h *history) drop() {
	ordered := h.appendTo(nil)
	h.size -= len(ordered[0])
	h.msgs = append(h.msgs[:0], ordered[1:]...)
	h.start = 0
}

func (h *history) appendTo(out [][]byte) [][]byte {
	out = append(out, h.msgs[h.start:]...)
	return append(out, h.msgs[:h.start]...)
}
