package original

import (
	"fmt"
	"strings"

	"chatlab/protocol/legacy"
)

// Line is one message of a conversation.
type Line struct {
	FromClient bool   // typed into the client; else into the server
	Text       string // one line, as typed
}

// Script is a conversation between the original server and its client.
type Script struct {
	Name       string // short, for file names: "picnic"
	ServerName string // the user name typed into the server
	ClientName string // the user name typed into the client
	Lines      []Line
}

// Speaker returns the name of whoever typed l.
func (s *Script) Speaker(l Line) string {
	if l.FromClient {
		return s.ClientName
	}
	return s.ServerName
}

// maxName is the longest user name the program handles: its buffer is
// legacy.NameSize bytes and a name that fills it has no NUL, which its
// printf then runs past.
const maxName = legacy.NameSize - 1

// Check reports what of s the program cannot type faithfully: scanf("
// %[^\n]") drops leading blanks and reads a line at most, and what does
// not fit its field overflows a buffer.
func (s *Script) Check() error {
	for _, n := range []string{s.ServerName, s.ClientName} {
		if err := checkLine(n, maxName); err != nil {
			return fmt.Errorf("original: user name %q: %w", n, err)
		}
	}
	if len(s.Lines) == 0 {
		return fmt.Errorf("original: script %q has no lines", s.Name)
	}
	for _, l := range s.Lines {
		if err := checkLine(l.Text, legacy.TextSize); err != nil {
			return fmt.Errorf("original: line %q: %w", l.Text, err)
		}
	}
	return nil
}

func checkLine(s string, max int) error {
	switch {
	case s == "":
		return fmt.Errorf("empty")
	case len(s) > max:
		return fmt.Errorf("over %d bytes", max)
	case strings.TrimLeft(s, " \t") != s:
		return fmt.Errorf("starts with a blank, which scanf drops")
	}
	for _, c := range []byte(s) {
		if c < 0x20 || c > 0x7e {
			return fmt.Errorf("byte %#x is not printable ASCII", c)
		}
	}
	return nil
}

// MarshalText writes s in the form ParseScript reads: a header of
// "name:", "server:" and "client:" lines, then one line per message,
// "c: " for what the client typed and "s: " for the server.
func (s *Script) MarshalText() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# typed into the original program, one message a line (c: client, s: server)\nname: %s\nserver: %s\nclient: %s\n", s.Name, s.ServerName, s.ClientName)
	for _, l := range s.Lines {
		who := "s"
		if l.FromClient {
			who = "c"
		}
		fmt.Fprintf(&b, "%s: %s\n", who, l.Text)
	}
	return []byte(b.String())
}

// ParseScript reads what MarshalText wrote.
func ParseScript(text []byte) (Script, error) {
	var s Script
	for i, line := range strings.Split(strings.TrimSuffix(string(text), "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			return Script{}, fmt.Errorf("original: script line %d: no \": \"", i+1)
		}
		switch k {
		case "name":
			s.Name = v
		case "server":
			s.ServerName = v
		case "client":
			s.ClientName = v
		case "c", "s":
			s.Lines = append(s.Lines, Line{FromClient: k == "c", Text: v})
		default:
			return Script{}, fmt.Errorf("original: script line %d: unknown key %q", i+1, k)
		}
	}
	return s, s.Check()
}
