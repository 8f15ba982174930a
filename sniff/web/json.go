package web

import (
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"

	"chatlab/sniff/event"
)

// Limits on what one message carries. A page keeps maxHistory of them,
// so these bound its memory and the server's.
const (
	// maxUnitBytes is how much of a unit the hex pane shows: a whole
	// secure record of the longest line (protocol.MaxRecordBody plus its
	// header, 4165 bytes) fits, with room for the original program's PEM
	// key.
	maxUnitBytes = 8 << 10
	// maxText is how much of a message's text is kept: the longest plain
	// line (protocol.MaxLine) fits whole.
	maxText = 4096
	// maxName is how much of a sender's name is kept; chatlab's names are
	// at most 32 bytes, the original program's name field 12.
	maxName = 256
	// maxFields, maxKeys and maxWarnings bound a unit's lists; chatlab's
	// units have at most seven fields, three keys and a warning or two.
	maxFields   = 64
	maxKeys     = 8
	maxWarnings = 16
	// maxSays bounds a recovery's sentences and units: the terminal
	// lists a handful; the page keeps the same order of magnitude.
	maxSays          = 32
	maxRecoveryUnits = 64
)

// Conn is a connection as the page sees it.
type Conn struct {
	Type      string `json:"type"` // "conn"
	ID        int    `json:"id"`
	Client    string `json:"client"`
	Server    string `json:"server"`
	Proto     string `json:"proto"`     // "unknown", "plain", "secure", "legacy", "other"
	ProtoName string `json:"protoName"` // as the terminal says it: "chatlab secure"
	FromStart bool   `json:"fromStart"`
}

// Unit is one dissected unit: a plain line, a secure record, a handshake
// message, a frame of the original program, or unclaimed bytes.
type Unit struct {
	Type     string    `json:"type"` // "unit"
	Conn     int       `json:"conn"`
	Dir      string    `json:"dir"`     // "c2s" or "s2c"
	DirName  string    `json:"dirName"` // "client → server"
	Kind     string    `json:"kind"`    // "raw", "line", "hello", "key-exchange", "record", "legacy-key", "legacy-kex", "frame"
	KindName string    `json:"kindName"`
	Number   int       `json:"number"`
	Packet   int       `json:"packet"`
	Size     int       `json:"size"` // the whole unit's length
	Hex      string    `json:"hex"`  // its first maxUnitBytes, in hex
	Cut      bool      `json:"cut"`  // Hex is shorter than Size
	Fields   []Field   `json:"fields"`
	Keys     []Key     `json:"keys"`
	Message  *Message  `json:"message"`
	Note     string    `json:"note"`
	Warnings []Warning `json:"warnings"`
}

// Field is a named range of a unit's bytes.
type Field struct {
	Name  string `json:"name"`
	Off   int    `json:"off"`
	Len   int    `json:"len"`
	Show  string `json:"show"`  // "hex", "size", "num", "text"
	Value string `json:"value"` // the value as the page prints it
	Num   uint64 `json:"num"`
}

// Key is a secret a key or key log opened.
type Key struct {
	Name string `json:"name"`
	Hex  string `json:"hex"`
	Via  string `json:"via"`
}

// Message is a chat line a unit carries.
type Message struct {
	Kind string `json:"kind"` // "message", "name", "command", "chat", "notice", "line"
	From string `json:"from"`
	Text string `json:"text"`
	Via  string `json:"via"` // "on the wire", "opened with --key", "opened with --keylog"
	Cut  bool   `json:"cut"` // Text was cut to maxText
}

// Warning is something a person should notice. As a message of its own
// it has Type "warning" and its connection; inside a Unit both are empty.
type Warning struct {
	Type string `json:"type,omitempty"`
	Conn int    `json:"conn"`
	Dir  string `json:"dir"`
	Kind string `json:"kind"` // see warnKinds
	Text string `json:"text"`
	Ref  int    `json:"ref"`
}

// Recovery is what an eavesdropper read of units that shared a keystream.
type Recovery struct {
	Type    string          `json:"type"` // "recovery"
	Conn    int             `json:"conn"`
	What    string          `json:"what"`
	IV      string          `json:"iv"`
	Seen    int             `json:"seen"`
	Kept    int             `json:"kept"`
	Certain int             `json:"certain"` // bytes forced by the padding
	Likely  int             `json:"likely"`  // bytes from the statistics of English
	Unknown int             `json:"unknown"`
	Says    []string        `json:"says"`
	Units   []RecoveredUnit `json:"units"`
}

// RecoveredUnit is one unit's plaintext as recovered: bytes not worked
// out, or not printable, are "·".
type RecoveredUnit struct {
	Number int    `json:"number"`
	Dir    string `json:"dir"`
	Text   string `json:"text"`
	Known  int    `json:"known"` // bytes worked out
	Size   int    `json:"size"`
}

// Stats sums up a connection so far, or at the end (Final).
type Stats struct {
	Type      string   `json:"type"` // "stats"
	Conn      int      `json:"conn"` // 0: the connections beyond the limit
	Proto     string   `json:"proto"`
	ProtoName string   `json:"protoName"`
	Packets   int      `json:"packets"`
	Bytes     int      `json:"bytes"`
	Entropy   float64  `json:"entropy"`   // bits per byte, 0 to 8
	Printable float64  `json:"printable"` // share, 0 to 1
	IVReuse   int      `json:"ivReuse"`
	Hist      []uint64 `json:"hist"` // 256 counts
	Final     bool     `json:"final"`
	// Small says the sample is too small for its entropy to mean much.
	Small bool `json:"small"`
}

// Capture is the kernel's count for a live capture.
type Capture struct {
	Type     string `json:"type"` // "capture"
	Received uint64 `json:"received"`
	Dropped  uint64 `json:"dropped"`
}

// Note is a line from the server about the view itself.
type Note struct {
	Type string `json:"type"` // "note"
	Text string `json:"text"`
}

// smallSample is the sample size under which a histogram's entropy says
// little: 256 byte values need some thousand bytes before a uniform
// distribution looks flat (with fewer, even random bytes score well
// under 8 bits per byte).
const smallSample = 1 << 10

var protoKeys = [...]string{"unknown", "plain", "secure", "legacy", "other"}

func protoKey(p event.Proto) string {
	if int(p) < len(protoKeys) {
		return protoKeys[p]
	}
	return "unknown"
}

var kindKeys = [...]string{"raw", "line", "hello", "key-exchange", "record", "legacy-key", "legacy-kex", "frame"}

func kindKey(k event.Kind) string {
	if int(k) < len(kindKeys) {
		return kindKeys[k]
	}
	return "unknown"
}

var warnKinds = [...]string{"iv-reuse", "weak-suite", "no-mac", "bad-record", "wrong-key", "malformed", "gap", "cut", "overflow", "no-reuse", "old-version"}

func warnKey(k event.WarnKind) string {
	if int(k) < len(warnKinds) {
		return warnKinds[k]
	}
	return "other"
}

var showKeys = [...]string{"hex", "size", "num", "text"}

func dirKey(d event.Dir) string {
	if d == event.ServerToClient {
		return "s2c"
	}
	return "c2s"
}

func connID(c *event.Conn) int {
	if c == nil {
		return 0
	}
	return c.ID
}

func newConn(c *event.Conn) Conn {
	return Conn{Type: "conn", ID: c.ID, Client: c.Client.String(), Server: c.Server.String(),
		Proto: protoKey(c.Proto), ProtoName: c.Proto.String(), FromStart: c.FromStart}
}

// newUnit copies what the page needs of u: its bytes, strings and lists
// are the dissector's and die when Emit returns.
func newUnit(u *event.Unit) Unit {
	b := u.Bytes
	out := Unit{Type: "unit", Conn: connID(u.Conn), Dir: dirKey(u.Dir), DirName: u.Dir.String(),
		Kind: kindKey(u.Kind), KindName: u.Kind.String(), Number: u.Number, Packet: u.Packet,
		Size: len(b), Cut: len(b) > maxUnitBytes, Note: clip(u.Note, maxText),
		Fields: []Field{}, Keys: []Key{}, Warnings: []Warning{}}
	out.Hex = hex.EncodeToString(b[:min(len(b), maxUnitBytes)])
	for _, f := range u.Fields[:min(len(u.Fields), maxFields)] {
		out.Fields = append(out.Fields, newField(f, b))
	}
	for _, k := range u.Keys[:min(len(u.Keys), maxKeys)] {
		out.Keys = append(out.Keys, Key{Name: clip(k.Name, maxName), Hex: hex.EncodeToString(k.Bytes[:min(len(k.Bytes), 64)]), Via: k.Via.String()})
	}
	if m := u.Message; m != nil {
		out.Message = &Message{Kind: m.Kind.String(), From: clip(m.From, maxName), Text: clip(m.Text, maxText),
			Via: m.Via.String(), Cut: len(m.Text) > maxText}
	}
	for _, w := range u.Warnings[:min(len(u.Warnings), maxWarnings)] {
		out.Warnings = append(out.Warnings, Warning{Conn: out.Conn, Dir: dirKey(w.Dir), Kind: warnKey(w.Kind), Text: clip(w.Text, maxText), Ref: w.Ref})
	}
	return out
}

// newField keeps a field's range only where it lies within the unit, so
// the page never indexes past the bytes it has.
func newField(f event.Field, b []byte) Field {
	off := min(max(f.Off, 0), len(b))
	n := min(max(f.Len, 0), len(b)-off)
	out := Field{Name: clip(f.Name, maxName), Off: off, Len: n, Show: "hex", Num: f.Num}
	if int(f.Show) < len(showKeys) {
		out.Show = showKeys[f.Show]
	}
	switch f.Show {
	case event.ShowSize:
		out.Value = strconv.Itoa(f.Len) + " bytes"
	case event.ShowNum:
		out.Value = strconv.FormatUint(f.Num, 10)
	case event.ShowText:
		out.Value = clip(f.Text, maxText)
	default:
		// A nonce, a tag or an IV: short. A long field shown as hex is
		// cut, as the terminal cuts it.
		v := b[off : off+n]
		out.Value = hex.EncodeToString(v[:min(len(v), 64)])
		if len(v) > 64 {
			out.Value += "…"
		}
	}
	return out
}

func newWarning(w *event.Warning) Warning {
	return Warning{Type: "warning", Conn: connID(w.Conn), Dir: dirKey(w.Dir), Kind: warnKey(w.Kind), Text: clip(w.Text, maxText), Ref: w.Ref}
}

func newRecovery(r *event.Recovery) Recovery {
	out := Recovery{Type: "recovery", Conn: connID(r.Conn), What: clip(r.What, maxName),
		IV: hex.EncodeToString(r.IV[:min(len(r.IV), 64)]), Seen: r.Seen, Kept: r.Kept,
		Certain: r.Certain, Likely: r.Likely, Unknown: r.Unknown, Says: []string{}, Units: []RecoveredUnit{}}
	for _, s := range r.Says[:min(len(r.Says), maxSays)] {
		out.Says = append(out.Says, clip(s, maxText))
	}
	for _, u := range r.Units[:min(len(r.Units), maxRecoveryUnits)] {
		out.Units = append(out.Units, recovered(u))
	}
	return out
}

// recovered writes a recovered plaintext as text: a byte not worked out,
// or not printable ASCII, is a middle dot.
func recovered(u event.Recovered) RecoveredUnit {
	n := min(len(u.Plain), len(u.Grades), maxText)
	fields := u.Fields
	if len(fields) == 0 {
		fields = []event.RecoveredField{{Name: "text", Start: 0, End: n}}
	}
	var sb strings.Builder
	known := 0
	for k, f := range fields {
		if k > 0 {
			sb.WriteString("  ")
		}
		if len(fields) > 1 {
			sb.WriteString(f.Name + ": ")
		}
		for i := max(f.Start, 0); i < min(f.End, n); i++ {
			c := u.Plain[i]
			if u.Grades[i] != event.Unknown {
				known++
			}
			if u.Grades[i] == event.Unknown || c < 0x20 || c >= 0x7f {
				sb.WriteString("·")
				continue
			}
			sb.WriteByte(c)
		}
	}
	return RecoveredUnit{Number: u.Number, Dir: dirKey(u.Dir), Text: sb.String(), Known: known, Size: len(u.Plain)}
}

// clip copies at most n bytes of s, cut at a rune boundary when s is
// UTF-8. It copies because an event's strings may share the dissector's
// buffers.
func clip(s string, n int) string {
	if len(s) <= n {
		return strings.Clone(s)
	}
	cut := n
	for cut > n-utf8.UTFMax && cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.Clone(s[:cut])
}
