package render

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fatih/color"

	"chatlab/sniff/event"
)

// Unknown stands for a recovered byte whose keystream is not known. It is
// not a character people type, so a "." in a message stays a ".".
const Unknown = '·'

// recovery shows what an eavesdropper reads of units that shared one
// keystream: each unit's recovered fields, with certain bytes in one
// colour, likely ones in another and unknown ones as Unknown.
func (t *Text) recovery(r *event.Recovery) {
	c := r.Conn
	t.pal.paint(t.w, t.pal.warn, "#"+strconv.Itoa(c.ID)+" IV reuse recovery ("+c.Client.String()+" ↔ "+
		c.Server.String()+", "+c.Proto.String()+")")
	t.w.WriteByte('\n')
	t.wrapped(nil, strconv.Itoa(r.Seen)+" "+r.What+"s share IV "+Hex(r.IV)+
		" under one key, so they share one keystream. Without the key:")
	if r.Kept < r.Seen {
		t.line("the first " + strconv.Itoa(r.Kept) + " are kept and analysed; the rest were only counted")
	}
	for _, u := range r.Units {
		t.recovered(r, &u)
	}
	switch {
	case r.Certain+r.Likely+r.Unknown == 0:
	case r.Padded:
		t.wrapped(nil, plural(r.Certain, "byte")+" certain (forced by the padding), "+
			strconv.Itoa(r.Likely)+" likely (from the statistics of English), "+
			strconv.Itoa(r.Unknown)+" unknown, shown as "+string(Unknown))
	default:
		t.wrapped(nil, plural(r.Likely, "byte")+" likely (from the statistics of English; with no padding "+
			"nothing is certain), "+strconv.Itoa(r.Unknown)+" unknown, shown as "+string(Unknown))
	}
	for _, say := range r.Says {
		t.wrapped(nil, say)
	}
	if t.pal.on {
		t.w.WriteString(indent)
		t.pal.paint(t.w, t.pal.good, "certain")
		t.w.WriteString(" bytes are green, ")
		t.pal.paint(t.w, t.pal.text, "likely")
		t.w.WriteString(" ones bold, unknown ones " + string(Unknown) + "\n")
	}
}

// recovered writes one unit's recovered fields on a line, wrapped at
// Width.
func (t *Text) recovered(r *event.Recovery, u *event.Recovered) {
	type piece struct {
		c *color.Color
		s string
	}
	var pieces []piece
	add := func(c *color.Color, s string) { pieces = append(pieces, piece{c, s}) }
	add(nil, r.What+" "+strconv.Itoa(u.Number)+" "+u.Dir.String()+" ")
	fields := u.Fields
	if len(fields) == 0 {
		fields = []event.RecoveredField{{Name: "text", Start: 0, End: len(u.Plain)}}
	}
	for _, f := range fields {
		add(nil, " "+f.Name+" \"")
		for _, run := range gradeRuns(u.Plain, u.Grades, f.Start, f.End) {
			switch run.grade {
			case event.Certain:
				add(t.pal.good, run.text)
			case event.Likely:
				add(t.pal.text, run.text)
			default:
				add(nil, run.text)
			}
		}
		add(nil, "\"")
	}
	// Wrap by hand: the pieces carry their colours.
	col, limit := len(indent), Width
	t.w.WriteString(indent)
	for _, p := range pieces {
		for _, word := range splitKeep(p.s) {
			n := utf8.RuneCountInString(word)
			if col+n > limit && col > len(indent)+2 && strings.HasPrefix(word, " ") {
				t.w.WriteString("\n" + indent + "  ")
				col = len(indent) + 2
				word = strings.TrimPrefix(word, " ")
				n--
			}
			if p.c == nil {
				t.w.WriteString(word)
			} else {
				t.pal.paint(t.w, p.c, word)
			}
			col += n
		}
	}
	t.w.WriteByte('\n')
}

// splitKeep splits s before each space, keeping the spaces: the places a
// line may break.
func splitKeep(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s[min(1, len(s)):], ' ')
		if i < 0 {
			if s != "" {
				out = append(out, s)
			}
			return out
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
}

// gradeRun is a stretch of recovered text of one grade.
type gradeRun struct {
	grade event.Grade
	text  string
}

// gradeRuns cuts p[start:end] into runs of one grade, each made safe for
// a terminal, unknown bytes as Unknown.
func gradeRuns(p []byte, g []event.Grade, start, end int) []gradeRun {
	var runs []gradeRun
	end = min(end, len(p), len(g))
	for i := start; i < end; {
		j := i
		for j < end && g[j] == g[i] {
			j++
		}
		var s string
		if g[i] == event.Unknown {
			s = strings.Repeat(string(Unknown), j-i)
		} else {
			s = safeBytes(p[i:j])
		}
		runs = append(runs, gradeRun{g[i], s})
		i = j
	}
	return runs
}

// safeBytes is recovered bytes as text: printable ASCII as it is, other
// bytes as \xNN, so a wrong guess cannot reach the terminal as a control.
func safeBytes(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			s.WriteByte(c)
		default:
			s.WriteString(`\x`)
			s.WriteByte(hexDigits[c>>4])
			s.WriteByte(hexDigits[c&15])
		}
	}
	return s.String()
}

// RecoveredText is a recovered field as plain text, unknown bytes as
// Unknown: for comments and other views without colour.
func RecoveredText(p []byte, g []event.Grade, start, end int) string {
	var s strings.Builder
	for _, r := range gradeRuns(p, g, start, end) {
		s.WriteString(r.text)
	}
	return s.String()
}
