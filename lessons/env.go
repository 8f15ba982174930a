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
const NoCaptureNotice = "no capture permission (needs root, or once: sudo setcap cap_net_raw+ep bin/lesson): " +
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
}

func newEnv(out io.Writer, colorOn bool, watch Watch, dir, exe string) *Env {
	return &Env{Out: attack.NewSyncWriter(out), Color: colorOn, Dir: dir, Exe: exe, watch: watch, pal: newPalette(colorOn)}
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

// palette holds the lesson's colours, each switched for this Env alone.
type palette struct {
	heading, typed, wire, good, bad, dim *color.Color
	bold, italic                         *color.Color // the text's **bold** and *emphasis*
}

func newPalette(on bool) *palette {
	p := &palette{
		heading: color.New(color.Bold, color.Underline),
		typed:   color.New(color.FgCyan),
		wire:    color.New(color.FgYellow),
		good:    color.New(color.FgGreen, color.Bold),
		bad:     color.New(color.FgRed, color.Bold),
		dim:     color.New(color.Faint),
		bold:    color.New(color.Bold),
		italic:  color.New(color.Italic),
	}
	for _, c := range []*color.Color{p.heading, p.typed, p.wire, p.good, p.bad, p.dim, p.bold, p.italic} {
		if on {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
	}
	return p
}

// printf writes to Out.
func (e *Env) printf(format string, args ...any) { fmt.Fprintf(e.Out, format, args...) }

func (e *Env) note(s string) { fmt.Fprintln(e.Out, e.pal.dim.Sprint(s)) }

// banner introduces a live step.
func (e *Env) banner(s string) {
	fmt.Fprintln(e.Out, "\n"+e.pal.heading.Sprint("▶ "+s))
}

// claim prints a claim that held.
func (e *Env) claim(s string) { fmt.Fprintln(e.Out, e.pal.good.Sprint("✔ "+s)) }

// alarm prints something an attacker achieved.
func (e *Env) alarm(s string) { fmt.Fprintln(e.Out, e.pal.bad.Sprint("✘ "+s)) }

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
