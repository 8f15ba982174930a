package render

import (
	"strconv"
	"strings"

	"chatlab/sniff/event"
)

// Unknown stands for a recovered byte whose keystream is not known. It is
// not a character people type, so a "." in a message stays a ".".
const Unknown = '·'

// recovery shows what an eavesdropper reads of units that shared one
// keystream: each unit's recovered text, bytes graded by how sure they
// are.
func (t *Text) recovery(r *event.Recovery) {
	c := r.Conn
	t.pal.paint(t.w, t.pal.warn, "#"+strconv.Itoa(c.ID)+" IV reuse recovery ("+c.Client.String()+" ↔ "+
		c.Server.String()+", "+c.Proto.String()+")")
	t.w.WriteByte('\n')
	for _, s := range wrap(strconv.Itoa(r.Seen)+" "+r.What+"s share IV "+Hex(r.IV)+
		" under one key, so they share one keystream.", Width-len(indent), Width, len(indent)) {
		t.line(s)
	}
	if r.Kept < r.Seen {
		t.line("the first " + strconv.Itoa(r.Kept) + " are kept and analysed; the rest were only counted")
	}
	for _, say := range r.Says {
		t.wrapped(nil, say)
	}
	guessed := false
	for _, u := range r.Units {
		head := r.What + " " + strconv.Itoa(u.Number) + " " + u.Dir.String() + "  "
		var text string
		if r.Padded && r.NameLen > 0 && len(u.Plain) > r.NameLen {
			text = "name " + Quote(RecoveredText(u.Plain[:r.NameLen], u.Grades[:r.NameLen], true)) +
				" text " + Quote(RecoveredText(u.Plain[r.NameLen:], u.Grades[r.NameLen:], true))
		} else {
			text = Quote(RecoveredText(u.Plain, u.Grades, r.Padded))
		}
		col := t.pal.good
		if u.If != "" {
			head += "if " + u.If + ": "
			col = t.pal.text
			guessed = true
		}
		for i, s := range wrap(head+text, Width-len(indent), Width, len(indent)+2) {
			t.w.WriteString(indent)
			if i > 0 {
				t.w.WriteString("  ")
			}
			t.pal.paint(t.w, col, s)
			t.w.WriteByte('\n')
		}
	}
	legend := string(Unknown) + " marks a byte whose keystream is not known"
	if guessed {
		legend += "; a crib's text is only a guess"
	}
	t.line(legend)
}

// RecoveredText is a recovered plaintext as text: unknown bytes as
// Unknown. A padded field ends only where its padding starts: at the
// first known NUL after which every known byte is NUL, so a NUL wrongly
// recovered in the middle does not hide what follows it.
func RecoveredText(p []byte, g []event.Grade, padded bool) string {
	end := len(p)
	if padded {
		end = 0
		for i := range p {
			if g[i] != event.Unknown && p[i] != 0 {
				end = i + 1
			}
		}
		// Unknown bytes right after the text may be text too: show them
		// up to the first known NUL.
		for end < len(p) && g[end] == event.Unknown {
			end++
		}
	}
	var b strings.Builder
	for i := 0; i < end; i++ {
		switch {
		case g[i] == event.Unknown:
			b.WriteRune(Unknown)
		case p[i] == 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(p[i])
		}
	}
	return b.String()
}
