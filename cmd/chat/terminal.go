package main

import (
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/fatih/color"
	"golang.org/x/term"

	"chatlab/protocol/chat"
)

// terminal prints the conversation. On a terminal it adds colour and a
// prompt; piped, it prints bare "NAME: TEXT" and "* notice" lines.
type terminal struct {
	out         io.Writer
	interactive bool

	mu       sync.Mutex
	shutdown bool
	kicked   string // why the server disconnected us, if it did
	notice   *color.Color
	names    []*color.Color
}

func newTerminal(stdin io.Reader, stdout io.Writer) *terminal {
	t := &terminal{
		out:         stdout,
		interactive: isTerminal(stdin) && isTerminal(stdout),
		notice:      color.New(color.FgYellow),
		names: []*color.Color{
			color.New(color.FgCyan, color.Bold), color.New(color.FgGreen, color.Bold),
			color.New(color.FgMagenta, color.Bold), color.New(color.FgBlue, color.Bold),
			color.New(color.FgRed, color.Bold),
		},
	}
	useColour := t.interactive && os.Getenv("NO_COLOR") == ""
	for _, c := range append(t.names, t.notice) {
		if useColour {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
	}
	return t
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// show prints a line from the server. Its text was sanitised by the
// client engine, so it cannot drive the terminal.
func (t *terminal) show(l chat.Line) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l.Notice && l.Text == chat.ShutdownNotice[len(chat.NoticePrefix):] {
		t.shutdown = true
	}
	if reason, ok := strings.CutPrefix(l.Text, "error: you were disconnected: "); ok && l.Notice {
		t.kicked = reason
	}
	if t.interactive {
		fmt.Fprint(t.out, "\r\033[K") // clear the prompt line
	}
	if l.Notice {
		t.notice.Fprintln(t.out, l.String())
	} else {
		t.nameColour(l.From).Fprint(t.out, l.From)
		fmt.Fprintln(t.out, ": "+l.Text)
	}
	if t.interactive {
		fmt.Fprint(t.out, "> ")
	}
}

// local prints a notice that came from the client itself.
func (t *terminal) local(text string) { t.show(chat.Line{Notice: true, Text: text}) }

// prompt shows "> " at the start of a cleared line, so a prompt that a
// message just printed is not doubled.
func (t *terminal) prompt() {
	if t.interactive {
		t.mu.Lock()
		fmt.Fprint(t.out, "\r\033[K> ")
		t.mu.Unlock()
	}
}

// disconnected returns the server's reason for throwing this member out,
// or "".
func (t *terminal) disconnected() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.kicked
}

// finish clears the prompt, so the shell's own starts on a clean line.
func (t *terminal) finish() {
	if t.interactive {
		t.mu.Lock()
		fmt.Fprint(t.out, "\r\033[K")
		t.mu.Unlock()
	}
}

func (t *terminal) sawShutdown() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.shutdown
}

func (t *terminal) nameColour(name string) *color.Color {
	h := fnv.New32a()
	h.Write([]byte(name))
	return t.names[h.Sum32()%uint32(len(t.names))]
}
