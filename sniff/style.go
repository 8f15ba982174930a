package sniff

import (
	"bufio"

	"github.com/fatih/color"
)

// palette holds one colour object per kind of output. Each is switched on
// or off for this printer alone, so two printers with different settings
// can run side by side.
type palette struct {
	on                                           bool
	time, c2s, s2c, label, text, warn, good, dim *color.Color
}

func newPalette(on bool) *palette {
	p := &palette{
		on:    on,
		time:  color.New(color.Faint),
		c2s:   color.New(color.FgCyan),
		s2c:   color.New(color.FgMagenta),
		label: color.New(color.Bold),
		text:  color.New(color.FgYellow),
		warn:  color.New(color.FgRed, color.Bold),
		good:  color.New(color.FgGreen, color.Bold),
		dim:   color.New(color.Faint),
	}
	for _, c := range []*color.Color{p.time, p.c2s, p.s2c, p.label, p.text, p.warn, p.good, p.dim} {
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
