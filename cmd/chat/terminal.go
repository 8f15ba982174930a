package main

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/fatih/color"
	"golang.org/x/term"

	"chatlab/cmd/internal/cli"
	"chatlab/protocol/chat"
)

// terminal prints the conversation. On a terminal it adds colour and a
// prompt, and edits the line being typed (left and right, history on up
// and down); piped, it prints bare "NAME: TEXT" and "* notice" lines and
// reads lines as they come.
type terminal struct {
	out         io.Writer
	interactive bool
	// editor edits typed lines while startEditing's terminal state holds;
	// nil until then, and on a pipe.
	editor *cli.Editor

	mu       sync.Mutex
	shutdown bool
	kicked   string // why the server disconnected us, if it did
	notice   *color.Color
	names    []*color.Color
}

func newTerminal(stdin io.Reader, stdout io.Writer, theme cli.Theme) *terminal {
	t := &terminal{
		out:         stdout,
		interactive: isTerminal(stdin) && isTerminal(stdout),
	}
	t.notice, t.names = chatPalette(theme)
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

// chatPalette returns the colours of notices and of names. With no theme
// they are the ones that read on light and dark backgrounds alike (the
// terminal's own foreground, green, magenta, red), all bold, never dim;
// a dark background adds cyan and yellow, a light one blue.
func chatPalette(theme cli.Theme) (notice *color.Color, names []*color.Color) {
	names = []*color.Color{
		color.New(color.FgGreen, color.Bold), color.New(color.FgMagenta, color.Bold),
		color.New(color.FgRed, color.Bold), color.New(color.Bold),
	}
	switch theme {
	case cli.ThemeDark:
		return color.New(color.FgYellow), append(names, color.New(color.FgCyan, color.Bold))
	case cli.ThemeLight:
		return color.New(color.FgMagenta), append(names, color.New(color.FgBlue, color.Bold))
	}
	return color.New(), names
}

// startEditing puts the terminal in raw mode and reads typed lines
// through x/term's line editor, which interprets every key (arrows, Home,
// Ctrl-W) so that no escape sequence is ever part of a line. On a pipe it
// does nothing. finish undoes it.
func (t *terminal) startEditing(stdin io.Reader) error {
	if !t.interactive {
		return nil
	}
	ed, err := cli.NewEditor(stdin, t.out, "> ")
	if err != nil || !ed.Editing() {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.editor = ed
	return nil
}

// lines returns what reads one typed line: the editor's on a terminal,
// at most maxTypedLine bytes of a line on a pipe.
func (t *terminal) lines(stdin io.Reader) func() (string, error) {
	if t.editor != nil {
		return t.editor.ReadLine
	}
	br := bufio.NewReader(stdin)
	return func() (string, error) { return readTypedLine(br) }
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
	var text string
	if l.Notice {
		text = t.notice.Sprint(l.String())
	} else {
		text = t.nameColour(l.From).Sprint(l.From) + ": " + l.Text
	}
	switch {
	case t.editor != nil:
		// The editor clears its prompt, prints the line and draws the
		// prompt and the half-typed line again below it.
		fmt.Fprint(t.editor.Out, text+"\n")
	case t.interactive:
		fmt.Fprint(t.out, "\r\033[K"+text+"\n> ")
	default:
		fmt.Fprintln(t.out, text)
	}
}

// local prints a notice that came from the client itself.
func (t *terminal) local(text string) { t.show(chat.Line{Notice: true, Text: text}) }

// prompt shows "> " at the start of a cleared line, so a prompt that a
// message just printed is not doubled.
func (t *terminal) prompt() {
	if t.interactive && t.editor == nil {
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

// finish gives the terminal back as it was and clears the prompt, so the
// shell's own starts on a clean line.
func (t *terminal) finish() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.editor != nil {
		t.editor.Close()
	}
	if t.interactive {
		fmt.Fprint(t.out, "\r\033[K")
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
