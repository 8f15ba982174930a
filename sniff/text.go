package sniff

import (
	"bufio"
	"strconv"
	"unicode/utf8"

	"chatlab/protocol"
)

// hexWidth is the bytes per hex dump line, as in hexdump -C.
const hexWidth = 16

const hexDigits = "0123456789abcdef"

// isText reports whether b reads as text: valid UTF-8 with no control
// characters except tab and line breaks.
func isText(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// quote returns network text safe for a terminal, in double quotes.
func quote(s string) string {
	return `"` + protocol.Sanitize(s) + `"`
}

// hexDump writes b as hexdump -C does, each line after indent. scratch is
// reused between calls to keep the fast path free of allocations.
func hexDump(w *bufio.Writer, indent string, b []byte, scratch []byte) []byte {
	for off := 0; off < len(b); off += hexWidth {
		line := b[off:min(off+hexWidth, len(b))]
		s := append(scratch[:0], indent...)
		s = appendHex4(s, off)
		s = append(s, ' ', ' ')
		for i := 0; i < hexWidth; i++ {
			if i == hexWidth/2 {
				s = append(s, ' ')
			}
			if i < len(line) {
				s = append(s, hexDigits[line[i]>>4], hexDigits[line[i]&15], ' ')
			} else {
				s = append(s, ' ', ' ', ' ')
			}
		}
		s = append(s, ' ', '|')
		for _, c := range line {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			s = append(s, c)
		}
		s = append(s, '|', '\n')
		w.Write(s)
		scratch = s
	}
	return scratch
}

// appendHex4 appends an offset as at least four hex digits.
func appendHex4(s []byte, n int) []byte {
	if n > 0xffff {
		return strconv.AppendInt(s, int64(n), 16)
	}
	return append(s, hexDigits[n>>12&15], hexDigits[n>>8&15], hexDigits[n>>4&15], hexDigits[n&15])
}

// hexString is a short field in hex, for nonces, IVs and tags.
func hexString(b []byte) string {
	s := make([]byte, 0, 2*len(b))
	for _, c := range b {
		s = append(s, hexDigits[c>>4], hexDigits[c&15])
	}
	return string(s)
}

// plural writes a count and a noun, adding "s" unless the count is one:
// "1 byte", "2 bytes".
func plural(n int, word string) string {
	return strconv.Itoa(n) + " " + noun(n, word)
}

// noun is word for one of it, else word with an "s".
func noun(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
