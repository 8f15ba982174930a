package sniff

import (
	"strconv"
	"unicode/utf8"
)

// isText reports whether b reads as text: valid UTF-8 with no control
// characters except tab and line breaks.
func isText(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	ascii := true
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f {
			return false
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	return ascii || utf8.Valid(b)
}

// plural writes a count and a noun, adding "s" unless the count is one:
// "1 byte", "2 bytes".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// printableByte reports whether b is printable ASCII or a line break.
func printableByte(b byte) bool {
	return b >= 0x20 && b < 0x7f || b == '\n' || b == '\r' || b == '\t'
}
