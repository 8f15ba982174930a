package render

import (
	"bufio"

	"github.com/fatih/color"
)

// palette holds one colour object per kind of output. Each is switched on
// or off for this printer alone, so two printers with different settings
// can run side by side.
//
// The colours are chosen for a projector: nothing a student must read is
// dim, and every colour is bold, which keeps blue, magenta, red and green
// legible on a light background as on a dark one. Cyan and yellow, which
// vanish on white, are not used; payload text is the terminal's own
// foreground colour, in bold.
type palette struct {
	on                                bool
	c2s, s2c, label, text, warn, good *color.Color
}

func newPalette(on bool) *palette {
	p := &palette{
		on:    on,
		c2s:   color.New(color.FgBlue, color.Bold),
		s2c:   color.New(color.FgMagenta, color.Bold),
		label: color.New(color.Bold),
		text:  color.New(color.Bold),
		warn:  color.New(color.FgRed, color.Bold),
		good:  color.New(color.FgGreen, color.Bold),
	}
	for _, c := range []*color.Color{p.c2s, p.s2c, p.label, p.text, p.warn, p.good} {
		if on {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
	}
	return p
}

// paint writes s in colour c. With colour off it writes s directly, which
// keeps the fast path free of formatting.
func (p *palette) paint(w *bufio.Writer, c *color.Color, s string) {
	if !p.on {
		w.WriteString(s)
		return
	}
	w.WriteString(c.Sprint(s))
}

// paintBytes is paint for bytes built in a scratch buffer.
func (p *palette) paintBytes(w *bufio.Writer, c *color.Color, b []byte) {
	if !p.on {
		w.Write(b)
		return
	}
	w.WriteString(c.Sprint(string(b)))
}
