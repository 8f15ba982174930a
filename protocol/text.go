package protocol

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Sanitize makes text from the network safe to print on a terminal. C0 and
// C1 control characters (ESC among them, so no ANSI sequence survives),
// DEL, and the bidirectional overrides that can reorder what a reader sees
// are shown in caret or U+ notation instead of being obeyed. Invalid UTF-8
// becomes U+FFFD.
func Sanitize(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			b.WriteRune(utf8.RuneError)
		case r < 0x20:
			b.WriteByte('^')
			b.WriteByte(byte(r) + 0x40)
		case r == 0x7f:
			b.WriteString("^?")
		case unsafeRune(r):
			fmt.Fprintf(&b, "<U+%04X>", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == utf8.RuneError ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// ValidName checks a user name: 1 to MaxName letters, digits, '-', '_' or '.'.
func ValidName(name string) error {
	if name == "" || len(name) > MaxName {
		return fmt.Errorf("a name has 1 to %d characters", MaxName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("a name uses only letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}
