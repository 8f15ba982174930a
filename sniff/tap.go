package sniff

import (
	"bufio"
	"io"
	"net/netip"
	"strconv"
	"sync"
)

// Directions of a connection, as indexes.
const (
	c2s = 0 // client to server
	s2c = 1 // server to client
)

// indent starts every line below a unit's label: fields and hex dumps.
const indent = "      "

// Tap prints TCP streams handed to it, with the same dissectors, IV reuse
// analysis, statistics and --key decryption as a capture. It is safe for
// concurrent use: a relay may feed both directions from two goroutines.
type Tap struct {
	mu      sync.Mutex
	cfg     Config
	w       *bufio.Writer
	pal     *palette
	conns   map[connKey]*conn
	order   []*conn
	scratch []byte
	cribs   [][]byte
	// overflow sums the connections beyond maxConns: counted, not
	// dissected. Nil until the first one.
	overflow *conn
	// ivBytes is what the IV reuse analysis keeps, against
	// maxTrackedBytes.
	ivBytes int
	// segments is set by Run without Follow: units are printed under the
	// line of the segment that completed them, not as a conversation.
	segments bool
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

// NewTap returns a Tap that prints to cfg.Out. Filter, Count, Dump and
// Live are for Run and are ignored here; Follow is implied.
func NewTap(cfg Config) *Tap {
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	t := &Tap{
		cfg:       cfg,
		w:         bufio.NewWriterSize(out, outBufferSize),
		pal:       newPalette(cfg.Color),
		conns:     map[connKey]*conn{},
		flushEach: true,
	}
	for _, c := range cfg.Cribs {
		if c != "" {
			t.cribs = append(t.cribs, []byte(c))
		}
	}
	return t
}

// outBufferSize is the output buffer. Large writes amortise the system
// call over many short lines, which is most of sniff's speed on -r.
const outBufferSize = 256 << 10

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
		c.fromStart = true
	}
	c.count(payload)
	t.feed(c, dir, payload)
	if t.flushEach {
		t.w.Flush()
	}
}

// Close prints what the IV reuse analysis recovers and, with Stats, the
// summary, then flushes. It returns the first write error, if any.
func (t *Tap) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
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
	if t.cfg.Stats {
		t.printStats()
	}
	return t.w.Flush()
}

// Stats returns the numbers for every connection seen so far, in the
// order they appeared.
func (t *Tap) Stats() []ConnStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]ConnStats, 0, len(t.order)+1)
	for _, c := range t.order {
		out = append(out, c.stats())
	}
	if t.overflow != nil {
		out = append(out, t.overflow.stats())
	}
	return out
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
			t.pal.paint(t.w, t.pal.warn, "more than "+strconv.Itoa(maxConns)+" connections: the rest are counted under \"other connections\" in the statistics, not dissected")
			t.w.WriteByte('\n')
		}
		return t.overflow
	}
	c := &conn{id: len(t.order) + 1, client: client, server: server}
	t.conns[k] = c
	t.order = append(t.order, c)
	if !t.segments {
		t.pal.paint(t.w, t.pal.label, "#"+strconv.Itoa(c.id)+" connection "+client.String()+" → "+server.String())
		t.w.WriteByte('\n')
	}
	return c
}

// start writes the front of a unit's first line.
func (t *Tap) start(c *conn, dir int) {
	if t.segments {
		t.w.WriteString("  ")
		return
	}
	col, s := t.pal.c2s, " client → server  "
	if dir == s2c {
		col, s = t.pal.s2c, " server → client  "
	}
	t.pal.paint(t.w, col, "#"+strconv.Itoa(c.id)+s)
}

// field writes one indented line under a unit.
func (t *Tap) field(s string) {
	t.w.WriteString(indent)
	t.w.WriteString(s)
	t.w.WriteByte('\n')
}

// warn writes an indented warning line.
func (t *Tap) warn(s string) {
	t.w.WriteString(indent)
	t.pal.paint(t.w, t.pal.warn, s)
	t.w.WriteByte('\n')
}

// dump writes b as a hex dump under a unit.
func (t *Tap) dump(b []byte) {
	t.scratch = hexDump(t.w, indent, b, t.scratch)
}
