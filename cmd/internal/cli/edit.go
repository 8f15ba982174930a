package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// Editor reads typed lines. On a terminal it is x/term's line editor in
// raw mode, which interprets every key (arrows, history, Home, Ctrl-W),
// so no escape sequence is ever part of a line; its Out then writes above
// the line being typed. On a pipe it reads lines as they come.
type Editor struct {
	// Out is where the program's output goes while lines are typed.
	Out     io.Writer
	term    *term.Terminal
	br      *bufio.Reader
	restore func()
}

// NewEditor edits lines from stdin, showing prompt, when stdin and out are
// a terminal; otherwise it reads stdin as it is. Close gives the terminal
// back.
func NewEditor(stdin io.Reader, out io.Writer, prompt string) (*Editor, error) {
	in, ok1 := stdin.(*os.File)
	o, ok2 := out.(*os.File)
	if !ok1 || !ok2 || !term.IsTerminal(int(in.Fd())) || !term.IsTerminal(int(o.Fd())) {
		return &Editor{Out: out, br: bufio.NewReader(stdin)}, nil
	}
	state, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{stdin, out}, prompt)
	return &Editor{Out: t, term: t, restore: func() { term.Restore(int(in.Fd()), state) }}, nil
}

// Editing reports whether lines are edited on a terminal, rather than
// read from a pipe.
func (e *Editor) Editing() bool { return e.term != nil }

// ReadLine returns the next line, without its line break and without
// control characters. At the end of input (Ctrl-D) it returns io.EOF.
func (e *Editor) ReadLine() (string, error) {
	if e.term != nil {
		l, err := e.term.ReadLine()
		return WithoutControls(l), err
	}
	l, err := e.br.ReadString('\n')
	if err != nil && (err != io.EOF || l == "") {
		return "", err
	}
	return strings.TrimRight(l, "\r\n"), nil
}

// Close gives the terminal back as it was.
func (e *Editor) Close() {
	if e.restore != nil {
		e.restore()
		e.restore = nil
	}
}

// WithoutControls drops control characters, which the editor does not
// insert, so that nothing typed can ever carry an escape sequence.
func WithoutControls(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}
