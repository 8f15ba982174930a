package render

import (
	"strings"

	"chatlab/sniff/event"
)

// Comments is an event.Sink that collects, packet by packet, a short
// account of what the dissectors found: the text of every line, the
// opened text of every record, and every warning. A pcapng writer
// attaches it to the packet as its comment, which Wireshark shows as
// frame.comment with no plugin installed.
type Comments struct {
	lines []string
}

// Emit takes the units and warnings of the packet being dissected.
func (c *Comments) Emit(e event.Event) {
	switch e := e.(type) {
	case *event.Unit:
		c.lines = append(c.lines, UnitComment(e)...)
	case *event.Warning:
		c.lines = append(c.lines, "warning: "+e.Text)
	}
}

// Add adds a line of its own, such as what an IV reuse recovery read.
func (c *Comments) Add(s string) { c.lines = append(c.lines, s) }

// Take returns what was collected since the last Take, one line each,
// and starts afresh.
func (c *Comments) Take() string {
	s := strings.Join(c.lines, "\n")
	c.lines = c.lines[:0]
	return s
}

// UnitComment is a unit in a few words: what it is and the text it
// carries, then its warnings.
func UnitComment(u *event.Unit) []string {
	var head string
	switch u.Kind {
	case event.KindRaw:
		if u.Note == "" {
			return nil
		}
		head = u.Note
	case event.KindLine:
		head = "chatlab plain"
	default:
		// The terminal's title line: "record 5 data, seq 1: 34 bytes of
		// ciphertext and a 16-byte tag", "frame 3: iv all zero, …".
		head = string(appendTitle(nil, u))
		if u.Conn != nil && u.Conn.Proto == event.ProtoLegacy {
			head = "original program " + head
		} else {
			head = "chatlab " + head
		}
	}
	out := []string{head}
	if m := u.Message; m != nil {
		label, detail := MessageParts(m)
		if u.Kind == event.KindLine {
			out[0] += " " + label + " " + detail
		} else {
			out = append(out, m.Via.String()+": "+label+" "+detail)
		}
	}
	for _, k := range u.Keys {
		if k.Name == "session key" {
			out = append(out, "session key "+Hex(k.Bytes)+" ("+k.Via.String()+")")
		}
	}
	for _, w := range u.Warnings {
		out = append(out, "warning: "+w.Text)
	}
	return out
}

// RecoveredComment is one unit of an IV reuse recovery in a few words.
func RecoveredComment(u *event.Recovered) string {
	s := "recovered without the key (IV reuse):"
	for _, f := range u.Fields {
		s += " " + f.Name + " \"" + RecoveredText(u.Plain, u.Grades, f.Start, f.End) + "\""
	}
	return s
}
