package lessons

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fatih/color"

	"chatlab/lessons/attack"
	"chatlab/sniff"
	"chatlab/sniff/render"
	"chatlab/sniff/web"
)

// Watch says how the eavesdropper watches the wire.
type Watch int

// Ways to watch.
const (
	WatchAuto    Watch = iota // capture if permitted, else the relay tap
	WatchTap                  // always the in-process relay tap
	WatchCapture              // live capture, or fail
)

// NoCaptureNotice is the one line printed when live capture is not
// permitted and the lesson watches through the relay tap instead.
// It is two lines, to fit 100 columns.
const NoCaptureNotice = "no capture permission (it needs root, or once: sudo setcap cap_net_raw+ep bin/lesson):\n" +
	"watching through an in-process relay tap instead"

// captureIface is the interface the lessons capture on: all their traffic
// is on loopback.
const captureIface = "lo"

// Env is what a step prints to and runs with.
type Env struct {
	// Out is shared by the lesson, the sniffer and the relay.
	Out io.Writer
	// Color says Out takes colour.
	Color bool
	// Dir is a scratch directory for keys and recordings.
	Dir string
	// Exe is the lesson program, which lesson 7 runs again without AES-NI.
	Exe string
	// Original is where lesson 3 finds the real original program, if set.
	Original string

	key     *rsa.PrivateKey
	watch   Watch
	decided bool
	capture bool
	pal     *palette
	web     *web.View // the lesson's page, or nil
	// dumps is the sniffer's full dumps, if the lesson asked for them.
	dumps render.Dump
	// legendSaid is set once the ✔/✘ legend has been printed.
	legendSaid bool
	// sniffCopy, if set, also receives the sniffer's output.
	sniffCopy io.Writer
}

func newEnv(out io.Writer, colorOn bool, theme Theme, watch Watch, dir, exe string) *Env {
	return &Env{Out: attack.NewSyncWriter(out), Color: colorOn, Dir: dir, Exe: exe, watch: watch, pal: newPalette(colorOn, theme)}
}

// capturing decides once per lesson whether to capture live, printing
// the one-line notice when it cannot.
func (e *Env) capturing() (bool, error) {
	if e.decided {
		return e.capture, nil
	}
	e.decided = true
	switch e.watch {
	case WatchTap:
		e.capture = false
	case WatchCapture:
		if err := sniff.CanCapture(captureIface); err != nil {
			return false, fmt.Errorf("lessons: live capture asked for: %w", err)
		}
		e.capture = true
	default:
		err := sniff.CanCapture(captureIface)
		e.capture = err == nil
		if err != nil {
			if errors.Is(err, sniff.ErrPermission) {
				e.note(NoCaptureNotice)
			} else {
				e.note("no live capture (" + err.Error() + "): watching through an in-process relay tap instead")
			}
		}
	}
	if e.capture {
		e.note("capturing live on " + captureIface + " (you have the permission)")
	}
	return e.capture, nil
}

// Theme says which background the lesson is shown on, so the colours
// can be the most legible ones for it.
type Theme int

// Themes.
const (
	// ThemeAny uses only what reads on light and dark backgrounds alike:
	// the terminal's own foreground (bold for emphasis), magenta, red
	// and green. The default, for a projector nobody has checked.
	ThemeAny Theme = iota
	// ThemeDark adds cyan and yellow, which vanish on white.
	ThemeDark
	// ThemeLight uses blue, which is dim on black.
	ThemeLight
)

// palette holds the lesson's colours, each switched for this Env alone.
// Nothing a student must read is dim (SGR 2), which washes out on a
// projector.
type palette struct {
	heading, typed, wire, good, bad, note, prompt *color.Color
	bold, italic                                  *color.Color // the text's **bold** and *emphasis*
	// dim is for marks that matter less than the text around them (the ·
	// of a byte nobody knows): the terminal's own colour, never faint.
	dim *color.Color
}

func newPalette(on bool, theme Theme) *palette {
	p := &palette{
		heading: color.New(color.Bold, color.Underline),
		typed:   color.New(color.Bold),
		wire:    color.New(color.FgMagenta),
		good:    color.New(color.FgGreen, color.Bold),
		bad:     color.New(color.FgRed, color.Bold),
		note:    color.New(), // the terminal's own foreground
		dim:     color.New(),
		prompt:  color.New(color.Bold),
		bold:    color.New(color.Bold),
		italic:  color.New(color.Italic),
	}
	switch theme {
	case ThemeDark:
		p.typed = color.New(color.FgCyan, color.Bold)
		p.wire = color.New(color.FgYellow)
	case ThemeLight:
		p.typed = color.New(color.FgBlue, color.Bold)
	}
	for _, c := range []*color.Color{p.heading, p.typed, p.wire, p.good, p.bad, p.note, p.prompt, p.bold, p.italic, p.dim} {
		if on {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
	}
	return p
}

// sniffOut is where the sniffer prints: Out, and sniffCopy if set.
func (e *Env) sniffOut() io.Writer {
	if e.sniffCopy == nil {
		return e.Out
	}
	return io.MultiWriter(e.Out, e.sniffCopy)
}

// printf writes to Out, wrapping any line wider than maxWidth.
func (e *Env) printf(format string, args ...any) {
	fmt.Fprint(e.Out, wrap(fmt.Sprintf(format, args...)))
}

// paint prints s in c, wrapped, each line coloured on its own.
func (e *Env) paint(c *color.Color, s string) {
	for _, line := range strings.Split(wrap(s), "\n") {
		fmt.Fprintln(e.Out, c.Sprint(line))
	}
}

func (e *Env) note(s string) { e.paint(e.pal.note, s) }

// banner introduces a live step.
func (e *Env) banner(s string) {
	fmt.Fprintln(e.Out)
	e.paint(e.pal.heading, "▶ "+s)
}

// Legend is said once per lesson, before its first ✔ or ✘: a red ✘ on a
// projector otherwise reads as the lesson failing.
const Legend = "(✔ = the defence held · ✘ = the attack worked, as the lesson means it to)"

// verdict prints a ✔ or ✘ line, after the legend the first time.
func (e *Env) verdict(c *color.Color, mark, s string) {
	if !e.legendSaid {
		e.legendSaid = true
		fmt.Fprintln(e.Out, e.pal.note.Sprint(Legend))
	}
	e.paint(c, mark+" "+s)
}

// claim prints a claim that held.
func (e *Env) claim(s string) { e.verdict(e.pal.good, "✔", s) }

// alarm prints something an attacker achieved.
func (e *Env) alarm(s string) { e.verdict(e.pal.bad, "✘", s) }

// ClaimError is returned when a lesson's claim did not hold.
type ClaimError struct {
	Lesson int    // the lesson's number
	Claim  string // what should have held, and what happened instead
}

// Error says which claim did not hold.
func (c *ClaimError) Error() string {
	return fmt.Sprintf("lessons: the claim did not hold: %s", c.Claim)
}

func failed(format string, args ...any) error {
	return &ClaimError{Claim: fmt.Sprintf(format, args...)}
}

// indentLines indents every line of s.
func indentLines(s, by string) string {
	return by + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+by)
}
