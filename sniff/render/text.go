package render

import (
	"bufio"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/fatih/color"

	"chatlab/protocol"
	"chatlab/sniff/event"
)

// Dump chooses the hex dumps the terminal view adds.
type Dump uint8

// Dumps, as tcpdump's flags name them.
const (
	DumpNone     Dump = iota // the compact view: one short hex line per unit
	DumpHex                  // -x: hex
	DumpHexASCII             // -X: hex and ASCII
	DumpASCII                // -A: ASCII
)

// Options configure the terminal view.
type Options struct {
	// Color turns on ANSI colours.
	Color bool
	// Segments shows one tcpdump-like line per TCP segment, with the
	// units it completed below it; otherwise each connection is shown as
	// a conversation, one block per unit.
	Segments bool
	// Dump adds full dumps: of each unit's bytes in a conversation, of
	// each packet from its IP header in segment mode.
	Dump Dump
	// Quiet leaves out the units: segment lines only.
	Quiet bool
	// Location is the time zone of timestamps; nil means local time, as
	// tcpdump prints them.
	Location *time.Location
}

// Width is the widest line the view prints, for a projector or a
// terminal of 100 columns; longer text is cut with "…".
const Width = 100

// indent starts every line below a unit's first line.
const indent = "      "

// outBufferSize is the output buffer. Large writes amortise the system
// call over many short lines, which is most of sniff's speed on -r.
const outBufferSize = 256 << 10

// Text is the terminal view: an event.Sink that writes to an io.Writer.
// It is not safe for concurrent use; sniff's Tap serialises its events.
type Text struct {
	opt     Options
	w       *bufio.Writer
	pal     *palette
	loc     *time.Location
	scratch []byte
	chunks  []chunk
	// col is how wide the line under way is so far.
	col int
}

// NewText returns a terminal view writing to w.
func NewText(w io.Writer, opt Options) *Text {
	t := &Text{opt: opt, w: bufio.NewWriterSize(w, outBufferSize), pal: newPalette(opt.Color), loc: opt.Location}
	if t.loc == nil {
		t.loc = time.Local
	}
	return t
}

// Flush writes out what is buffered.
func (t *Text) Flush() error { return t.w.Flush() }

// Emit shows one event.
func (t *Text) Emit(e event.Event) {
	switch e := e.(type) {
	case *event.Open:
		if !t.opt.Segments {
			c := e.Conn
			t.pal.paint(t.w, t.pal.label, "#"+strconv.Itoa(c.ID)+" connection "+c.Client.String()+" → "+c.Server.String())
			t.w.WriteByte('\n')
		}
	case *event.Recognised:
		if !t.opt.Segments {
			t.w.WriteString("#" + strconv.Itoa(e.Conn.ID) + " recognised as " + e.Conn.Proto.String() + "\n")
		}
	case *event.Segment:
		t.segment(e)
	case *event.Unit:
		if !t.opt.Quiet {
			t.unit(e)
		}
	case *event.Warning:
		if !t.opt.Quiet || e.Conn == nil {
			t.warning(e)
		}
	case *event.Recovery:
		t.recovery(e)
	case *event.Summary:
		t.summary(e)
	}
}

// start writes the front of a unit's first line, and notes in t.col how
// wide it is, for wrapping what follows.
func (t *Text) start(c *event.Conn, dir event.Dir) {
	if t.opt.Segments || c == nil {
		t.w.WriteString("  ")
		t.col = 2
		return
	}
	col, s := t.pal.c2s, " client → server  "
	if dir == event.ServerToClient {
		col, s = t.pal.s2c, " server → client  "
	}
	id := "#" + strconv.Itoa(c.ID)
	t.pal.paint(t.w, col, id+s)
	t.col = len(id) + utf8.RuneCountInString(s)
}

// line writes one indented line under a unit.
func (t *Text) line(s string) {
	t.w.WriteString(indent)
	t.w.WriteString(s)
	t.w.WriteByte('\n')
}

func (t *Text) warning(w *event.Warning) {
	if w.Conn == nil {
		for _, s := range wrap(w.Text, Width, Width, 2) {
			t.pal.paint(t.w, t.pal.warn, s)
			t.w.WriteByte('\n')
		}
		return
	}
	t.start(w.Conn, w.Dir)
	t.pal.paint(t.w, t.pal.warn, "warning")
	t.w.WriteByte('\n')
	t.wrapped(t.pal.warn, w.Text)
}

// wrapped writes s under a unit in colour c, wrapped to Width with a
// hanging indent; nil is no colour.
func (t *Text) wrapped(c *color.Color, s string) {
	for i, l := range wrap(s, Width-len(indent), Width, len(indent)+2) {
		t.w.WriteString(indent)
		if i > 0 {
			t.w.WriteString("  ")
		}
		if c == nil {
			t.w.WriteString(l)
		} else {
			t.pal.paint(t.w, c, l)
		}
		t.w.WriteByte('\n')
	}
}

// segment writes one segment's line as tcpdump does, and with -x, -X or
// -A its packet.
func (t *Text) segment(s *event.Segment) {
	b := s.Time.In(t.loc).AppendFormat(t.scratch[:0], "15:04:05.000000")
	b = append(b, ' ')
	b = s.Src.AppendTo(b)
	b = append(b, " → "...)
	b = s.Dst.AppendTo(b)
	b = append(b, " ["...)
	b = s.Flags.AppendTo(b)
	b = append(b, "] seq "...)
	b = strconv.AppendUint(b, uint64(s.Seq), 10)
	if s.Len > 0 {
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(s.Seq+uint32(s.Len)), 10)
	}
	if s.Flags&event.ACK != 0 {
		b = append(b, " ack "...)
		b = strconv.AppendUint(b, uint64(s.Ack), 10)
	}
	b = append(b, " len "...)
	b = strconv.AppendInt(b, int64(s.Len), 10)
	if s.Captured < s.Len {
		b = append(b, " [|tcp] ("...)
		b = strconv.AppendInt(b, int64(s.Captured), 10)
		b = append(b, " captured)"...)
	}
	t.scratch = b
	col := t.pal.c2s
	if s.Dir == event.ServerToClient {
		col = t.pal.s2c
	}
	t.pal.paintBytes(t.w, col, b)
	t.w.WriteByte('\n')
	if t.opt.Dump != DumpNone {
		t.dump(s.Network, "\t")
	}
}

// dump writes b in the dump the options ask for.
func (t *Text) dump(b []byte, in string) {
	hex, ascii := t.opt.Dump != DumpASCII, t.opt.Dump != DumpHex
	t.scratch = hexDump(t.w, in, b, hex, ascii, t.scratch)
}

// unit writes one unit: its first line, its details, and its bytes as one
// short line split by field, or as a full dump.
func (t *Text) unit(u *event.Unit) {
	t.start(u.Conn, u.Dir)
	switch u.Kind {
	case event.KindLine:
		t.message(u.Message, "plain ")
	case event.KindRaw:
		t.raw(u)
		return
	default:
		t.scratch = appendTitle(t.scratch[:0], u)
		t.pal.paintBytes(t.w, t.pal.label, t.scratch)
		t.w.WriteByte('\n')
		for _, s := range details(u) {
			t.line(s)
		}
	}
	for _, k := range u.Keys {
		t.w.WriteString(indent)
		t.pal.paint(t.w, t.pal.good, k.Name+" "+Hex(k.Bytes)+" ("+k.Via.String()+")")
		t.w.WriteByte('\n')
	}
	for _, w := range u.Warnings {
		t.wrapped(t.pal.warn, w.Text)
	}
	if u.Kind != event.KindLine && u.Message != nil {
		t.w.WriteString(indent)
		t.col = len(indent)
		t.message(u.Message, u.Message.Via.String()+": ")
	}
	t.bytes(u)
}

// bytes shows a unit's bytes. The compact view gives one line split by
// field (none for a text line: its text is its bytes); -x, -X and -A dump
// them whole in a conversation, and in segment mode have dumped the
// packet already.
func (t *Text) bytes(u *event.Unit) {
	switch {
	case t.opt.Dump != DumpNone:
		if !t.opt.Segments {
			t.dump(u.Bytes, indent)
		}
	case u.Kind != event.KindLine:
		t.scratch = appendFieldLine(append(t.scratch[:0], indent...), u, Width-len(indent), &t.chunks)
		t.scratch = append(t.scratch, '\n')
		t.w.Write(t.scratch)
	}
}

// message writes a chat line after prefix and ends the line.
func (t *Text) message(m *event.Message, prefix string) {
	if m == nil {
		t.w.WriteByte('\n')
		return
	}
	label, detail := MessageParts(m)
	t.pal.paint(t.w, t.pal.label, prefix+label)
	t.w.WriteByte(' ')
	// A long message wraps under itself, at word boundaries.
	first := Width - t.col - utf8.RuneCountInString(prefix+label) - 1
	for i, s := range wrap(detail, first, Width, len(indent)+2) {
		if i > 0 {
			t.w.WriteByte('\n')
			t.w.WriteString(indent)
			t.w.WriteString("  ")
		}
		t.pal.paint(t.w, t.pal.text, s)
	}
	t.w.WriteByte('\n')
}

// raw shows bytes no dissector claims: as text if they read as text, else
// as a size and their bytes.
func (t *Text) raw(u *event.Unit) {
	note := u.Note
	if note != "" {
		note += ": "
	}
	if isText(u.Bytes) {
		label := note + "text " + plural(len(u.Bytes), "byte")
		t.pal.paint(t.w, t.pal.label, label)
		t.w.WriteByte(' ')
		room := max(Width-t.col-utf8.RuneCountInString(label)-1, 12)
		t.pal.paint(t.w, t.pal.text, cut(Quote(string(u.Bytes)), room))
		t.w.WriteByte('\n')
		return
	}
	t.pal.paint(t.w, t.pal.label, note+"binary "+plural(len(u.Bytes), "byte"))
	t.w.WriteByte('\n')
	t.bytes(u)
}

// Quote returns network text safe for a terminal, in double quotes.
func Quote(s string) string { return `"` + protocol.Sanitize(s) + `"` }
