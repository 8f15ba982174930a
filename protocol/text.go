package protocol

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sanitize makes text from the network safe to print on a terminal. What a
// terminal would obey rather than show, and what a reader cannot see, is
// shown in a visible form instead:
//
//   - C0 controls and DEL in caret notation (ESC is ^[, so no ANSI sequence
//     survives);
//   - C1 controls, and every format character that is invisible or turns
//     the direction of the text (the bidi marks U+200E, U+200F and U+061C,
//     the overrides U+202A–U+202E and isolates U+2066–U+2069, U+200B,
//     U+2060, U+FEFF, U+00AD, the tag characters U+E0000–U+E007F, and the
//     rest of Unicode's Cf category), and the line and paragraph
//     separators U+2028 and U+2029, as <U+XXXX>.
//
// The zero-width joiner and non-joiner (U+200D, U+200C) stay: emoji
// sequences and several scripts need them, and they neither hide text nor
// reorder it. Invalid UTF-8 becomes U+FFFD.
//
// Plain printable ASCII comes back as it is, without a copy.
func Sanitize(s string) string {
	i := printableASCIIPrefix(s)
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			break // C0 or DEL
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if shownRune(r, n) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c < 0x20:
				b.WriteByte('^')
				b.WriteByte(c + 0x40)
			case c == 0x7f:
				b.WriteString("^?")
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
		case shownRune(r, n):
			writeCodePoint(&b, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// PrintableASCII reports whether b is all printable ASCII (0x20 to 0x7e),
// which Sanitize leaves as it is.
func PrintableASCII(b []byte) bool {
	for _, c := range b[printableASCIIPrefix(b):] {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// asciiBlock is how many bytes printableASCIIPrefix checks per step.
const asciiBlock = 32

// printableASCIIPrefix returns how many whole blocks of asciiBlock bytes
// at the front of s are printable ASCII (0x20 to 0x7e), in bytes. It
// checks eight bytes per word and branches once per block.
func printableASCIIPrefix[T string | []byte](s T) int {
	i := 0
	for ; i+asciiBlock <= len(s); i += asciiBlock {
		w := s[i : i+asciiBlock]
		if notPrintable8(w[0:8])|notPrintable8(w[8:16])|notPrintable8(w[16:24])|notPrintable8(w[24:32]) != 0 {
			break
		}
	}
	return i
}

// notPrintable8 has a high bit set for every byte of w[:8] that is not
// printable ASCII, and perhaps for others, but is zero only when all
// eight are printable.
func notPrintable8[T string | []byte](w T) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	_ = w[7] // one bounds check for the eight loads
	x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
	// A byte with its high bit set is not ASCII. With every high bit
	// clear, a byte under 0x20 borrows into its high bit when 0x20 is
	// taken from it, and 0x7f carries into it when 1 is added, and no byte
	// borrows from or carries into its neighbour; with one set, the
	// result is non-zero whatever the others do.
	return (x | (x-0x20*ones)&^x | (x + ones)) & highs
}

// shownRune reports whether the non-ASCII rune r, n bytes long in the
// input, is shown as <U+XXXX> (or, invalid, as U+FFFD).
func shownRune(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1:
		return true // invalid UTF-8
	case r < 0xa0:
		return true // C1
	case r < 0x0600:
		return r == 0x00ad // Latin, Greek, Cyrillic…: only the soft hyphen
	case r >= 0x0900 && r < 0x180e, r >= 0x1810 && r < 0x200b, r >= 0x2070 && r < 0xfeff:
		return false // Indic to Mongolian, and CJK among the rest: no Cf
	case r == 0x200c || r == 0x200d:
		return false // joiners: see Sanitize
	case r == 0x2028 || r == 0x2029:
		return true
	case r >= 0xe0000 && r <= 0xe007f:
		return true // tags, U+E0000 (unassigned) included
	}
	return unicode.Is(unicode.Cf, r)
}

// writeCodePoint writes r as <U+XXXX>, four to six hex digits.
func writeCodePoint(b *strings.Builder, r rune) {
	const digits = "0123456789ABCDEF"
	b.WriteString("<U+")
	width := 4
	for r>>(4*width) != 0 {
		width++
	}
	for shift := 4 * (width - 1); shift >= 0; shift -= 4 {
		b.WriteByte(digits[(r>>shift)&0xf])
	}
	b.WriteByte('>')
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
