package sniff

import (
	"crypto/rsa"

	"chatlab/protocol"
	"chatlab/sniff/event"
)

// conn is everything known about one TCP connection.
type conn struct {
	ev      event.Conn
	dirs    [2]half
	records int // secure records or legacy frames so far, for numbering

	// bannerSeen is set when a plain server's banner was seen: then, as
	// when the connection was seen from its start, the client's first
	// line is its name. A capture begun mid-conversation sees neither,
	// and the first line it sees is just a message.
	bannerSeen bool

	packets, bytes int
	hist           *[256]uint64 // byte counts, with Stats, made on the first payload byte
	sample         []byte       // with Stats, the first event.MaxSample payload bytes

	// overflow marks the bucket for connections beyond maxConns.
	overflow bool

	// chatlab secure
	helloRecord []byte
	hello       *protocol.Hello
	open        [2]protocol.RecordCipher // set when a key opened the key exchange
	via         event.Via                // which key did
	seq         [2]uint64

	// original C program
	legacyPEM bool
	legacyPub *rsa.PublicKey
	legacyKex bool
	legacyKey []byte

	reuse ivTracker
}

// half is one direction of a connection.
type half struct {
	buf   []byte // bytes not yet making a whole unit
	lines int    // messages seen (plain lines or opened plaintexts)
	raw   bool   // the dissector gave up: show bytes as they come
	// cut counts bytes that cut packets lost and that the reassembler has
	// yet to skip (Follow); skip is the rest of a unit that lost bytes,
	// still to come and not to be dissected.
	cut, skip int

	// Segment mode keeps its own sequence numbers to spot gaps and
	// retransmissions; Follow leaves that to gopacket's reassembly.
	isn, next         uint32
	haveISN, haveNext bool
}

// count adds a payload to the connection's totals; the byte histogram
// and printable share, which cost a look at every byte, only when the
// statistics are wanted.
func (c *conn) count(payload []byte, stats bool) {
	c.packets++
	c.bytes += len(payload)
	if !stats || len(payload) == 0 {
		return
	}
	if c.hist == nil {
		c.hist = new([256]uint64)
	}
	h := c.hist
	for _, b := range payload {
		h[b]++
	}
	if n := event.MaxSample - len(c.sample); n > 0 {
		c.sample = append(c.sample, payload[:min(n, len(payload))]...)
	}
}

func (c *conn) stats() event.ConnStats {
	s := event.ConnStats{
		ID: c.ev.ID, Client: c.ev.Client, Server: c.ev.Server, Proto: c.ev.Proto,
		Packets: c.packets, Bytes: c.bytes, IVReuse: c.reuse.reused, Hist: c.hist, Sample: c.sample,
	}
	if c.overflow {
		s.ID = 0
	}
	s.Entropy, s.Printable = event.Entropy(c.hist), event.Printable(c.hist)
	return s
}
