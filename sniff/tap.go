package sniff

import (
	"net/netip"
	"strconv"
	"sync"

	"chatlab/sniff/event"
	"chatlab/sniff/render"
)

// Directions of a connection, as indexes.
const (
	c2s = 0 // client to server
	s2c = 1 // server to client
)

// Tap dissects TCP streams handed to it, with the same dissectors, IV
// reuse analysis, statistics and --key decryption as a capture, and sends
// what it finds to its sinks as events. It is safe for concurrent use: a
// relay may feed both directions from two goroutines.
type Tap struct {
	mu    sync.Mutex
	cfg   Config
	sink  event.Sink
	text  *render.Text // the terminal view, when cfg.Out is set
	conns map[connKey]*conn
	order []*conn
	// overflow sums the connections beyond maxConns: counted, not
	// dissected. Nil until the first one.
	overflow *conn
	// ivBytes is what the IV reuse analysis keeps, against
	// maxTrackedBytes; solved what it has handed the solver, against
	// maxSolved.
	ivBytes, solved int
	// packet is the capture's number for the packet being dissected,
	// for the units it completes; 0 on a Tap fed directly.
	packet int
	// unit, msg and warn are reused for every event, so dissecting a
	// packet allocates nothing; sinks copy what they keep.
	unit event.Unit
	msg  event.Message
	warn event.Warning
	// plain is the buffer records are opened into.
	plain []byte
	// keyLogged counts the sessions the key log opened.
	keyLogged int
	// unwrapped remembers what each distinct wrapped key decrypted to
	// (nil: it did not), so that each costs one RSA decryption.
	unwrapped map[[32]byte][]byte
	// flushEach flushes after every Data call or packet.
	flushEach bool
	closed    bool
}

// maxConns bounds the connections a Tap dissects. Each holds buffers, a
// histogram and its IVs, so a capture of very many connections (a port
// scan, a flood of tiny ones) would otherwise cost far more memory than
// the capture itself. A lesson has a handful; a busy loopback, hundreds.
const maxConns = 4096

// connKey names a connection whichever way a packet travels: the lower
// end first.
type connKey struct{ a, b netip.AddrPort }

func keyOf(x, y netip.AddrPort) connKey {
	if x.Compare(y) > 0 {
		x, y = y, x
	}
	return connKey{x, y}
}

// NewTap returns a Tap that shows conversations on cfg.Out, if set, and
// sends every event to cfg.Sink, if set. Filter, Count, Dump and Live are
// for Run and are ignored here; Follow is implied.
func NewTap(cfg Config) *Tap {
	cfg.Follow = true
	return newTap(cfg)
}

func newTap(cfg Config) *Tap {
	t := &Tap{cfg: cfg, conns: map[connKey]*conn{}, flushEach: true}
	var sinks []event.Sink
	if cfg.Out != nil {
		t.text = render.NewText(cfg.Out, render.Options{
			Color:    cfg.Color,
			Segments: !cfg.Follow,
			Dump:     cfg.Dumps,
			Quiet:    cfg.Quiet,
			Location: cfg.Location,
		})
		sinks = append(sinks, t.text)
	}
	if cfg.Sink != nil {
		sinks = append(sinks, cfg.Sink)
	}
	switch len(sinks) {
	case 0:
		t.sink = event.Tee()
	case 1:
		t.sink = sinks[0]
	default:
		t.sink = event.Tee(sinks...)
	}
	return t
}

// Data hands the Tap the next chunk of one direction of a TCP stream,
// in order. The first call for a client/server pair opens a connection.
func (t *Tap) Data(client, server netip.AddrPort, fromClient bool, payload []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	c := t.conn(client, server)
	dir := s2c
	if fromClient {
		dir = c2s
	}
	if c.packets == 0 {
		c.ev.FromStart = true
	}
	c.count(payload, t.cfg.Stats)
	t.feed(c, dir, payload)
	if t.flushEach {
		t.flush()
	}
}

// flush flushes the sinks that buffer.
func (t *Tap) flush() error {
	if f, ok := t.sink.(event.Flusher); ok {
		return f.Flush()
	}
	return nil
}

// Close shows what the IV reuse analysis recovers and, with Stats, the
// summary, then flushes. It returns the first write error, if any.
func (t *Tap) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closeLocked(nil)
}

func (t *Tap) closeLocked(capture *event.CaptureStats) error {
	if t.closed {
		return nil
	}
	t.closed = true
	for _, c := range t.order {
		t.finish(c)
	}
	for _, c := range t.order {
		t.recoverReuse(c)
	}
	if t.cfg.KeyLog != nil && t.keyLogged == 0 {
		t.emitWarning(nil, c2s, event.WarnWrongKey, "--keylog opened no session: none of the secure "+
			"sessions seen from their start is in the key log")
	}
	if len(t.cfg.Cribs) > 0 && !t.anyReuse() {
		t.emitWarning(nil, c2s, event.WarnNoReuse, "--crib was given, but no IV or nonce repeated under one key: "+
			"there is no shared keystream for a crib to unlock")
	}
	if t.cfg.Stats {
		s := t.summary()
		s.Capture = capture
		t.sink.Emit(&s)
	}
	return t.flush()
}

// anyReuse reports whether any connection repeated an IV.
func (t *Tap) anyReuse() bool {
	for _, c := range t.order {
		if c.reuse.reused > 0 {
			return true
		}
	}
	return false
}

// Stats returns the numbers for every connection seen so far, in the
// order they appeared; the last, with no addresses, sums the connections
// beyond the limit, if there were any.
func (t *Tap) Stats() []event.ConnStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.summary()
	if s.Overflow != nil {
		s.Conns = append(s.Conns, *s.Overflow)
	}
	return s.Conns
}

func (t *Tap) summary() event.Summary {
	s := event.Summary{Conns: make([]event.ConnStats, 0, len(t.order))}
	for _, c := range t.order {
		s.Conns = append(s.Conns, c.stats())
	}
	if t.overflow != nil {
		o := t.overflow.stats()
		s.Overflow = &o
	}
	return s
}

// conn finds or opens the connection between client and server. Past
// maxConns it returns the overflow bucket instead, saying so once.
func (t *Tap) conn(client, server netip.AddrPort) *conn {
	k := keyOf(client, server)
	if c := t.conns[k]; c != nil {
		return c
	}
	if len(t.order) >= maxConns {
		if t.overflow == nil {
			t.overflow = &conn{overflow: true}
			t.emitWarning(nil, c2s, event.WarnOverflow, "more than "+strconv.Itoa(maxConns)+
				" connections: the rest are counted under \"other connections\" in the statistics, not dissected")
		}
		return t.overflow
	}
	c := &conn{ev: event.Conn{ID: len(t.order) + 1, Client: client, Server: server}}
	t.conns[k] = c
	t.order = append(t.order, c)
	t.sink.Emit(&event.Open{Conn: &c.ev})
	return c
}

// begin starts the unit that the next emitUnit sends, reusing the Tap's
// buffers.
func (t *Tap) begin(c *conn, dir int, kind event.Kind, b []byte) *event.Unit {
	u := &t.unit
	*u = event.Unit{
		Conn: &c.ev, Dir: event.Dir(dir), Kind: kind, Packet: t.packet, Bytes: b,
		Fields: u.Fields[:0], Keys: u.Keys[:0], Warnings: u.Warnings[:0],
	}
	return u
}

// field adds a field to the unit under way.
func (t *Tap) field(name string, off, n int, show event.Show, num uint64, text string) {
	t.unit.Fields = append(t.unit.Fields, event.Field{Name: name, Off: off, Len: n, Show: show, Num: num, Text: text})
}

// note adds a warning to the unit under way.
func (t *Tap) note(kind event.WarnKind, text string) {
	u := &t.unit
	u.Warnings = append(u.Warnings, event.Warning{Conn: u.Conn, Dir: u.Dir, Kind: kind, Text: text})
}

// message sets the chat line the unit under way carries.
func (t *Tap) message(kind event.MessageKind, from, text string, via event.Via) {
	t.msg = event.Message{Kind: kind, From: from, Text: text, Via: via}
	t.unit.Message = &t.msg
}

func (t *Tap) emitUnit() { t.sink.Emit(&t.unit) }

// emitWarning sends a warning that belongs to no unit.
func (t *Tap) emitWarning(c *conn, dir int, kind event.WarnKind, text string) {
	t.warn = event.Warning{Dir: event.Dir(dir), Kind: kind, Text: text}
	if c != nil {
		t.warn.Conn = &c.ev
	}
	t.sink.Emit(&t.warn)
}
