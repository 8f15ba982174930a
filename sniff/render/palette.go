package render

import (
	"bufio"

	"github.com/fatih/color"
)

// palette holds one colour object per kind of output. Each is switched on
// or off for this printer alone, so two printers with different settings
// can run side by side.
//
// The colours are chosen for a projector and match the lessons': nothing
// a student must read is dim; what travels from client to server is the
// terminal's own colour in bold, what comes back is magenta, and so is
// payload text. Red is for warnings, green for what worked. Cyan, yellow
// and blue, which vanish on one background or the other, are not used.
type palette struct {
	on                                bool
	c2s, s2c, label, text, warn, good *color.Color
}

func newPalette(on bool) *palette {
	p := &palette{
		on:    on,
		c2s:   color.New(color.Bold),
		s2c:   color.New(color.FgMagenta, color.Bold),
		label: color.New(color.Bold),
		text:  color.New(color.FgMagenta),
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
