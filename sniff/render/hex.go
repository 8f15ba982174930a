package render

import (
	"bufio"
	"strconv"
)

// hexWidth is the bytes per hex dump line, as in hexdump -C.
const hexWidth = 16

const hexDigits = "0123456789abcdef"

// appendHex appends b in hex.
func appendHex(s, b []byte) []byte {
	for _, c := range b {
		s = append(s, hexDigits[c>>4], hexDigits[c&15])
	}
	return s
}

// Hex is b in hex, for short fields: nonces, IVs, tags, keys.
func Hex(b []byte) string { return string(appendHex(nil, b)) }

// hexDump writes b as hexdump -C does, each line after indent; with
// ascii false only the hex columns, with hex false only the characters.
// scratch is reused between calls to keep dumping free of allocations.
func hexDump(w *bufio.Writer, indent string, b []byte, hex, ascii bool, scratch []byte) []byte {
	for off := 0; off < len(b); off += hexWidth {
		line := b[off:min(off+hexWidth, len(b))]
		s := append(scratch[:0], indent...)
		s = appendHex4(s, off)
		s = append(s, ' ', ' ')
		if hex {
			for i := 0; i < hexWidth; i++ {
				if i == hexWidth/2 {
					s = append(s, ' ')
				}
				if i < len(line) {
					s = append(s, hexDigits[line[i]>>4], hexDigits[line[i]&15], ' ')
				} else if ascii {
					s = append(s, ' ', ' ', ' ')
				}
			}
		}
		if ascii {
			if hex {
				s = append(s, ' ')
			}
			s = append(s, '|')
			for _, c := range line {
				if c < 0x20 || c > 0x7e {
					c = '.'
				}
				s = append(s, c)
			}
			s = append(s, '|')
		}
		for len(s) > 0 && s[len(s)-1] == ' ' {
			s = s[:len(s)-1]
		}
		s = append(s, '\n')
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
