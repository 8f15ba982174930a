package sniff

import (
	"crypto/rsa"
	"net/netip"

	"chatlab/protocol"
)

// Proto is what a connection was recognised as, by its content.
type Proto uint8

// Protocols sniff recognises.
const (
	ProtoUnknown Proto = iota // nothing seen yet
	ProtoPlain                // chatlab plain: text lines
	ProtoSecure               // chatlab secure: hello, key exchange, records
	ProtoLegacy               // the original C program: PEM key, 268-byte frames
	ProtoOther                // something else, shown as text or hex
)

func (p Proto) String() string {
	switch p {
	case ProtoPlain:
		return "chatlab plain"
	case ProtoSecure:
		return "chatlab secure"
	case ProtoLegacy:
		return "legacy C"
	case ProtoOther:
		return "other"
	}
	return "unknown"
}

// ConnStats is the summary of one connection.
type ConnStats struct {
	Client, Server netip.AddrPort
	Proto          Proto
	Packets        int     // TCP segments (or Data calls on a Tap)
	Bytes          int     // payload bytes, both directions
	Entropy        float64 // Shannon entropy of the payload, bits per byte (0 to 8)
	Printable      float64 // share of payload bytes that are printable ASCII or line breaks (0 to 1)
	IVReuse        int     // records or frames whose IV or nonce repeated under one key
	// Overflow marks the sum of every connection beyond the limit a run
	// dissects: their packets and bytes, with no addresses.
	Overflow bool
}

// conn is everything known about one TCP connection.
type conn struct {
	id             int
	client, server netip.AddrPort
	proto          Proto
	dirs           [2]half
	records        int // secure records or legacy frames so far, for numbering

	// fromStart is set when the connection was seen from its SYN (or fed
	// to a Tap from its first byte), bannerSeen when a plain server's
	// banner was: either way the client's first line is its name. A
	// capture begun mid-conversation sees neither, and the first line it
	// sees is just a message.
	fromStart, bannerSeen bool

	packets, bytes, printable int
	hist                      *[256]uint64 // byte counts, made on the first payload byte

	// overflow marks the bucket for connections beyond maxConns.
	overflow bool

	// chatlab secure
	helloRecord []byte
	hello       *protocol.Hello
	open        [2]protocol.RecordCipher // set when --key opened the key exchange
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

	// Segment mode keeps its own sequence numbers to spot gaps and
	// retransmissions; Follow leaves that to gopacket's reassembly.
	isn, next         uint32
	haveISN, haveNext bool
}

func (c *conn) count(payload []byte) {
	c.packets++
	c.bytes += len(payload)
	if len(payload) > 0 && c.hist == nil {
		c.hist = new([256]uint64)
	}
	for _, b := range payload {
		c.hist[b]++
		if printableByte(b) {
			c.printable++
		}
	}
}

func printableByte(b byte) bool {
	return b >= 0x20 && b < 0x7f || b == '\n' || b == '\r' || b == '\t'
}

func (c *conn) stats() ConnStats {
	s := ConnStats{
		Client: c.client, Server: c.server, Proto: c.proto,
		Packets: c.packets, Bytes: c.bytes,
		Entropy: entropy(c.hist), IVReuse: c.reuse.reused, Overflow: c.overflow,
	}
	if c.bytes > 0 {
		s.Printable = float64(c.printable) / float64(c.bytes)
	}
	return s
}
