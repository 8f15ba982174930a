// Package event holds the plain values that sniff's dissectors produce: a
// connection, a TCP segment, a dissected unit (a chat line, a secure
// record, a handshake message, a frame of the original C program, or bytes
// no dissector claims) with named fields and their byte ranges, a warning,
// what an IV reuse recovery gives, and the statistics.
//
// The values carry no formatting. Renderers decide how each looks: the
// terminal's compact view and its -X dumps, pcapng packet comments, the
// web page's JSON. A dissector never writes text, and a renderer never
// parses bytes.
package event

import (
	"net/netip"
	"time"
)

// Event is one of *Open, *Recognised, *Segment, *Unit, *Warning,
// *Recovery and *Summary.
type Event interface{ event() }

// Sink receives events in the order they happen. An event, and everything
// it points to except its *Conn, is valid only during Emit: a sink that
// keeps anything copies it. (The dissectors reuse their buffers, so that
// showing a packet costs no allocation.) A *Conn stays valid, but its
// Proto may change later.
type Sink interface {
	Emit(Event)
}

// Flusher is a Sink with buffered output. Runners call Flush after each
// packet of a live capture and at the end.
type Flusher interface {
	Flush() error
}

// Dir is the direction of travel within a connection.
type Dir uint8

// The two directions.
const (
	ClientToServer Dir = iota
	ServerToClient
)

func (d Dir) String() string {
	if d == ServerToClient {
		return "server → client"
	}
	return "client → server"
}

// Proto is what a connection was recognised as, by its content.
type Proto uint8

// Protocols sniff recognises.
const (
	ProtoUnknown Proto = iota // nothing seen yet
	ProtoPlain                // chatlab plain: text lines
	ProtoSecure               // chatlab secure: hello, key exchange, records
	ProtoLegacy               // the original C program: PEM key, 268-byte frames
	ProtoOther                // something else, shown as text or bytes
)

func (p Proto) String() string {
	switch p {
	case ProtoPlain:
		return "chatlab plain"
	case ProtoSecure:
		return "chatlab secure"
	case ProtoLegacy:
		return "original C"
	case ProtoOther:
		return "other"
	}
	return "unknown"
}

// Conn is one TCP connection.
type Conn struct {
	// ID numbers connections from 1 in the order they were first seen.
	ID             int
	Client, Server netip.AddrPort
	Proto          Proto
	// FromStart is set when the connection was seen from its first byte
	// (its SYN, or a Tap's first Data): its first client line is a name.
	FromStart bool
}

// Open says a connection was seen for the first time.
type Open struct{ Conn *Conn }

// Recognised says what a connection's content showed it to be.
type Recognised struct{ Conn *Conn }

// Flags are a TCP segment's flags.
type Flags uint8

// TCP flags, in the order tcpdump prints them.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

// flagLetters are tcpdump's letters for each flag, in bit order.
const flagLetters = "FSRP.UEW"

// AppendTo appends the flags as tcpdump writes them: "S", "P.", "F.".
func (f Flags) AppendTo(b []byte) []byte {
	for i := range len(flagLetters) {
		if f&(1<<i) != 0 {
			b = append(b, flagLetters[i])
		}
	}
	return b
}

func (f Flags) String() string { return string(f.AppendTo(nil)) }

// Segment is one TCP segment as captured.
type Segment struct {
	// Conn is nil for a connection beyond the number a run dissects.
	Conn *Conn
	Dir  Dir
	// Packet numbers the capture's packets from 1, as tshark does.
	Packet   int
	Time     time.Time
	Src, Dst netip.AddrPort
	Flags    Flags
	// Seq and Ack are relative to the connection's first sequence
	// numbers, as tcpdump shows them, and absolute for a connection
	// beyond the limit. Ack means something only with the ACK flag.
	Seq, Ack uint32
	// Len is the payload the segment carried; Captured how much of it the
	// capture kept. A capture's snap length can cut a packet short, and
	// then Captured < Len.
	Len, Captured int
	// Network is the captured packet from its IP header on, for hex
	// dumps; Payload is the captured part of the TCP payload.
	Network, Payload []byte
}

// Kind is what a unit is.
type Kind uint8

// Unit kinds.
const (
	KindRaw         Kind = iota // bytes no dissector claims
	KindLine                    // a chatlab plain text line
	KindHello                   // chatlab secure: the server's hello
	KindKeyExchange             // chatlab secure: the wrapped session key
	KindRecord                  // chatlab secure: a data record
	KindLegacyKey               // the original program: its PEM public key
	KindLegacyKex               // the original program: its wrapped session key
	KindLegacyFrame             // the original program: a 268-byte frame
)

var kindNames = [...]string{"raw", "line", "hello", "key exchange", "record", "public key", "key exchange", "frame"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Unit is one whole protocol unit of one direction, dissected.
type Unit struct {
	Conn *Conn
	Dir  Dir
	Kind Kind
	// Number counts secure records and original-program frames in the
	// connection, both directions together, from 1; 0 for other units.
	Number int
	// Packet is the capture's number for the packet that completed the
	// unit; 0 where there is no capture (a Tap).
	Packet int
	// Bytes is the unit as it travelled.
	Bytes []byte
	// Fields name parts of Bytes, in order.
	Fields []Field
	// Keys are secrets a key (--key, --keylog) gave: the session key and
	// those derived from it.
	Keys []Key
	// Message is the chat line the unit carries, when it can be read:
	// on the wire for plain, opened with a key for secure.
	Message *Message
	// Note says why bytes are shown raw: "not a chatlab line",
	// "incomplete at the end", "old data again".
	Note     string
	Warnings []Warning
}

// Show is how a field's value is best shown.
type Show uint8

// Ways to show a field.
const (
	ShowHex  Show = iota // short bytes, in hex: a nonce, a tag, an IV
	ShowSize             // long bytes: their size; a dump has the bytes
	ShowNum              // Num, a number the bytes encode
	ShowText             // Text, what the bytes mean in words
)

// Field is a named range of a unit's bytes.
type Field struct {
	// Name is short, lowercase and stable: "type", "length", "nonce",
	// "seq", "ciphertext", "tag", "magic", "version", "suite", "random",
	// "public key", "wrapped key", "iv", "pem".
	Name     string
	Off, Len int
	Show     Show
	Num      uint64
	Text     string
}

// Key is a secret that a key or key log opened.
type Key struct {
	Name  string // "session key", "client → server key", "server → client key"
	Bytes []byte
	Via   Via
}

// Via is how a message came to be read.
type Via uint8

// Ways to read a message.
const (
	ViaWire   Via = iota // in the clear on the wire
	ViaKey               // opened with the server's private key (--key)
	ViaKeyLog            // opened with a session key from a key log
)

func (v Via) String() string {
	switch v {
	case ViaKey:
		return "opened with --key"
	case ViaKeyLog:
		return "opened with --keylog"
	}
	return "on the wire"
}

// MessageKind is what a chat line is.
type MessageKind uint8

// Chat line kinds.
const (
	MsgText    MessageKind = iota // a member's message, client to server
	MsgName                       // a client's first line: its name
	MsgCommand                    // "/who", "/nick bob"
	MsgChat                       // server to client: "NAME: TEXT"
	MsgNotice                     // server to client: "* alice joined"
	MsgLine                       // server to client, anything else
)

var msgNames = [...]string{"message", "name", "command", "chat", "notice", "line"}

func (k MessageKind) String() string {
	if int(k) < len(msgNames) {
		return msgNames[k]
	}
	return "unknown"
}

// Message is a chat line. Text and From are raw network text: a renderer
// makes them safe for its output.
type Message struct {
	Kind MessageKind
	From string // MsgChat: the sender's name; the original program's frames: its name field
	Text string
	Via  Via
}

// WarnKind classifies a warning.
type WarnKind uint8

// Warning kinds.
const (
	WarnIVReuse    WarnKind = iota // an IV or nonce repeated under one key
	WarnWeakSuite                  // the server chose a lesson-only weak suite
	WarnNoMAC                      // records carry no authentication
	WarnBadRecord                  // a record did not open under its key
	WarnWrongKey                   // the key given is not this server's
	WarnMalformed                  // a unit that breaks its format
	WarnGap                        // bytes were not captured
	WarnCut                        // a packet was cut short by the snap length
	WarnOverflow                   // more connections than a run dissects
	WarnNoReuse                    // cribs were given, but no IV repeated
	WarnOldVersion                 // a version 1 hello, with no server random
)

// Warning is something a person should notice. Text is one sentence.
type Warning struct {
	Conn *Conn // nil for a warning about the whole capture
	Dir  Dir
	Kind WarnKind
	Text string
	// Ref is the record or frame whose IV this one repeats (WarnIVReuse).
	Ref int
}

// Grade is how sure a recovered plaintext byte is.
type Grade uint8

// Grades, from worst to best.
const (
	Unknown Grade = iota // the keystream byte is not known
	Likely               // from statistics of chat text, a name the texts mention, or a crib
	Certain              // forced by the padding and the layout: never wrong
)

// Recovery is what a passive eavesdropper reads of the units that shared
// one keystream, without the key.
type Recovery struct {
	Conn *Conn
	// What is "record" or "frame".
	What string
	IV   []byte
	// Seen units used the IV; the first Kept are analysed.
	Seen, Kept int
	// Padded is the original program's layout: a NUL-padded name field
	// of NameLen bytes, then a NUL-padded text field.
	Padded  bool
	NameLen int
	// Certain, Likely and Unknown count the recovered bytes by grade,
	// padding left out.
	Certain, Likely, Unknown int
	// Says are sentences on how the recovery went: which units carry the
	// same text, what each crib did.
	Says  []string
	Units []Recovered
}

// RecoveredField is a part of a recovered plaintext: a name, a text, a
// message; past its End come padding bytes.
type RecoveredField struct {
	Name       string
	Start, End int
}

// Recovered is one unit's plaintext as recovered: Plain[i] is meaningful
// only where Grades[i] is not Unknown.
type Recovered struct {
	Number int
	Dir    Dir
	Plain  []byte
	Grades []Grade
	Fields []RecoveredField
}

// Summary is the statistics at the end of a run.
type Summary struct {
	Conns []ConnStats
	// Overflow sums every connection beyond the limit a run dissects.
	Overflow *ConnStats
	// Capture is the kernel's count for a live capture; nil otherwise.
	Capture *CaptureStats
}

// ConnStats sums up one connection.
type ConnStats struct {
	// ID is the connection's; 0 for the sum of the connections beyond
	// the limit a run dissects.
	ID             int
	Client, Server netip.AddrPort
	Proto          Proto
	Packets        int     // TCP segments (or Data calls on a Tap)
	Bytes          int     // payload bytes, both directions
	Entropy        float64 // Shannon entropy of the payload, bits per byte (0 to 8)
	Printable      float64 // share of payload bytes that are printable ASCII or line breaks (0 to 1)
	IVReuse        int     // records or frames whose IV or nonce repeated under one key
	// Hist counts the payload's byte values; nil when there was none.
	Hist *[256]uint64
	// Sample is the payload's first bytes, both directions in the order
	// they came, up to MaxSample: enough to compare connections over the
	// same number of bytes.
	Sample []byte
}

// MaxSample bounds ConnStats.Sample. Entropy over 4 KiB of ciphertext is
// within 0.05 of 8 bits per byte; more changes nothing a class can see.
const MaxSample = 4 << 10

// CaptureStats is what the kernel says of a live capture.
type CaptureStats struct {
	Received, Dropped uint64
}

func (*Open) event()       {}
func (*Recognised) event() {}
func (*Segment) event()    {}
func (*Unit) event()       {}
func (*Warning) event()    {}
func (*Recovery) event()   {}
func (*Summary) event()    {}

// Tee sends every event to each sink in turn.
func Tee(sinks ...Sink) Sink { return tee(sinks) }

type tee []Sink

func (t tee) Emit(e Event) {
	for _, s := range t {
		s.Emit(e)
	}
}

// Flush flushes every sink that buffers, and returns the first error.
func (t tee) Flush() error {
	var first error
	for _, s := range t {
		if f, ok := s.(Flusher); ok {
			if err := f.Flush(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}
