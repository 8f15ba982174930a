package render

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"chatlab/protocol"
	"chatlab/sniff/event"
)

// appendTitle appends a unit's first line: what it is, with what matters
// most. Records are the bulk of a capture, so their title is built
// without allocating.
func appendTitle(b []byte, u *event.Unit) []byte {
	f := fields(u)
	if u.Kind == event.KindHello || u.Kind == event.KindKeyExchange || u.Kind == event.KindRecord {
		b = append(b, "record "...)
		b = strconv.AppendInt(b, int64(u.Number), 10)
		b = append(b, ' ')
	}
	switch u.Kind {
	case event.KindHello:
		b = append(b, "hello"...)
		if m, ok := f.get("magic"); ok {
			b = append(b, ": "...)
			b = append(b, safe(m.Text)...)
		}
		if v, ok := f.get("version"); ok {
			b = append(b, " version "...)
			b = strconv.AppendUint(b, v.Num, 10)
		}
		if v, ok := f.get("suite"); ok {
			b = append(b, ", suite "...)
			b = append(b, v.Text...)
			b = append(b, " (0x"...)
			b = append(b, hexDigits[v.Num>>4&15], hexDigits[v.Num&15], ')')
		}
	case event.KindKeyExchange:
		w, _ := f.get("wrapped key")
		b = append(b, "key exchange: the "...)
		b = strconv.AppendUint(b, w.Num, 10)
		b = append(b, "-byte AES key, RSA-OAEP-wrapped, "...)
		b = appendPlural(b, w.Len, "byte")
	case event.KindRecord:
		b = append(b, "data"...)
		if q, ok := f.get("seq"); ok {
			if q.Show == event.ShowText {
				b = append(b, ", nonce fixed"...)
			} else {
				b = append(b, ", seq "...)
				b = strconv.AppendUint(b, q.Num, 10)
			}
		}
		if ct, ok := f.get("ciphertext"); ok {
			b = append(b, ": "...)
			b = appendPlural(b, ct.Len, "byte")
			b = append(b, " of ciphertext"...)
			if ct.Text != "" {
				b = append(b, " ("...)
				b = append(b, ct.Text...)
				b = append(b, ')')
			}
		}
		if _, ok := f.get("tag"); ok {
			b = append(b, " and a 16-byte tag"...)
		}
	case event.KindLegacyKey:
		b = append(b, "public key, PEM in the clear, "...)
		b = appendPlural(b, len(u.Bytes), "byte")
	case event.KindLegacyKex:
		w, _ := f.get("wrapped key")
		b = append(b, "key exchange: the "...)
		b = strconv.AppendUint(b, w.Num, 10)
		b = append(b, "-byte AES key, RSA-OAEP-wrapped (SHA-1), "...)
		b = appendPlural(b, len(u.Bytes), "byte")
	case event.KindLegacyFrame:
		b = append(b, "frame "...)
		b = strconv.AppendInt(b, int64(u.Number), 10)
		b = append(b, ':')
		if iv, ok := f.get("iv"); ok && iv.Show == event.ShowText {
			b = append(b, " iv "...)
			b = append(b, iv.Text...)
			b = append(b, ',')
		}
		if ct, ok := f.get("ciphertext"); ok {
			b = append(b, ' ')
			b = appendPlural(b, ct.Len, "byte")
			b = append(b, " of AES-128-GCM output with no tag"...)
		}
	default:
		b = append(b, u.Kind.String()...)
	}
	return b
}

// appendPlural appends a count and a noun, adding "s" unless the count is
// one.
func appendPlural(b []byte, n int, word string) []byte {
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, ' ')
	b = append(b, word...)
	if n != 1 {
		b = append(b, 's')
	}
	return b
}

// details are the lines under a unit's title, before its bytes.
func details(u *event.Unit) []string {
	f := fields(u)
	switch u.Kind {
	case event.KindHello:
		if k, ok := f.get("public key"); ok {
			return []string{"RSA-" + strconv.FormatUint(k.Num, 10) + " key in the clear, " + plural(k.Len, "byte") +
				", " + k.Text}
		}
	case event.KindLegacyKey:
		if k, ok := f.get("public key"); ok {
			return []string{"RSA-" + strconv.FormatUint(k.Num, 10) + " public key, " + k.Text}
		}
	}
	return nil
}

// fieldList finds fields by name.
type fieldList []event.Field

func fields(u *event.Unit) fieldList { return u.Fields }

func (l fieldList) get(name string) (event.Field, bool) {
	for _, f := range l {
		if f.Name == name {
			return f, true
		}
	}
	return event.Field{}, false
}

// MessageParts names a chat line and gives its text, quoted and safe for
// a terminal: ("name", `"alice"`), ("chat", `from "alice" text "hi"`).
func MessageParts(m *event.Message) (label, detail string) {
	if m.Kind == event.MsgChat {
		return m.Kind.String(), "from " + Quote(m.From) + " text " + Quote(m.Text)
	}
	return m.Kind.String(), Quote(m.Text)
}

// FieldLine is a unit's bytes in hex on one line of at most width
// columns, a space between fields (and between the parts of a field that
// holds another, such as a nonce and its sequence number). Long fields,
// the ciphertext and keys, are shortened first, with "…".
func FieldLine(u *event.Unit, width int) string {
	var chunks []chunk
	return string(appendFieldLine(nil, u, width, &chunks))
}

// chunk is a run of a unit's bytes on its field line.
type chunk struct {
	b      []byte
	shrink bool
}

// appendFieldLine appends FieldLine's text, using chunks as scratch.
func appendFieldLine(s []byte, u *event.Unit, width int, scratch *[]chunk) []byte {
	if isText(u.Bytes) {
		// Text in the clear, such as a PEM key, reads better as text.
		return append(s, cut(Quote(string(u.Bytes)), width)...)
	}
	chunks := (*scratch)[:0]
	defer func() { *scratch = chunks }()
	add := func(from, to int, shrink bool) {
		if from < to && to <= len(u.Bytes) {
			chunks = append(chunks, chunk{u.Bytes[from:to], shrink})
		}
	}
	at := 0
	for _, f := range u.Fields {
		if f.Off < at || f.Off+f.Len > len(u.Bytes) {
			continue // inside a field already shown, or out of range
		}
		add(at, f.Off, true)
		shrink := f.Show == event.ShowSize || f.Name == "public key" || f.Name == "pem" || f.Len > 16
		end := f.Off + f.Len
		// A field that holds the next one is split where it starts.
		for _, g := range u.Fields {
			if g.Off > f.Off && g.Off+g.Len <= end && g.Off < end {
				add(f.Off, g.Off, shrink)
				add(g.Off, end, shrink)
				end = -1
				break
			}
		}
		if end >= 0 {
			add(f.Off, end, shrink)
		}
		at = f.Off + f.Len
	}
	add(at, len(u.Bytes), true)
	if len(u.Fields) == 0 {
		chunks = append(chunks[:0], chunk{u.Bytes, true})
	}
	fixed, shrinkable := len(chunks)-1, 0
	for _, c := range chunks {
		if c.shrink {
			shrinkable++
		} else {
			fixed += 2 * len(c.b)
		}
	}
	per := 0
	if shrinkable > 0 {
		per = (width - fixed) / shrinkable
	}
	start := len(s)
	for i, c := range chunks {
		if i > 0 {
			s = append(s, ' ')
		}
		if c.shrink && 2*len(c.b) > per {
			n := max((per-1)/2, 1)
			s = appendHex(s, c.b[:min(n, len(c.b))])
			s = append(s, "…"...)
			continue
		}
		s = appendHex(s, c.b)
	}
	if utf8.RuneCount(s[start:]) > width {
		line := cut(string(s[start:]), width)
		s = append(s[:start], line...)
	}
	return s
}

// cut shortens s to at most n runes, ending it with "…" if it was longer.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

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

// wrapASCII is wrap for text of one byte a rune: the line ends are found
// by index, not by decoding.
func wrapASCII(s string, first, rest int) []string {
	var lines []string
	limit := first
	for len(s) > limit {
		cutAt := limit
		if sp := strings.LastIndexByte(s[limit/2:limit+1], ' '); sp >= 0 {
			cutAt = limit/2 + sp
		}
		lines = append(lines, strings.TrimRight(s[:cutAt], " "))
		s = strings.TrimLeft(s[cutAt:], " ")
		limit = rest
		if rest <= 10 {
			break
		}
	}
	if s != "" || len(lines) == 0 {
		lines = append(lines, s)
	}
	return lines
}

// ascii reports whether s is all ASCII.
func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// plural writes a count and a noun, adding "s" unless the count is one:
// "1 byte", "2 bytes".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// safe is network text made safe for a terminal, without quotes.
func safe(s string) string { return protocol.Sanitize(s) }

// wrap breaks s into lines at spaces: the first of at most first runes,
// the rest of at most width-hang, for a hanging indent of hang. A word
// longer than a line is cut where the line ends. It walks s once.
func wrap(s string, first, width, hang int) []string {
	limit := first
	if len(s) <= limit || limit <= 10 {
		return []string{s} // no more runes than bytes
	}
	if ascii(s) {
		return wrapASCII(s, first, width-hang)
	}
	if utf8.RuneCountInString(s) <= limit {
		return []string{s}
	}
	var lines []string
	for {
		// Find where the line must end: after limit runes, at the last
		// space before that if there is one in its second half.
		n, cutAt, space := 0, len(s), -1
		for i, r := range s {
			if n == limit {
				cutAt = i
				break
			}
			if r == ' ' && n >= limit/2 {
				space = i
			}
			n++
		}
		if cutAt == len(s) {
			return append(lines, s)
		}
		if space > 0 {
			cutAt = space
		}
		lines = append(lines, strings.TrimRight(s[:cutAt], " "))
		s = strings.TrimLeft(s[cutAt:], " ")
		limit = width - hang
		if s == "" {
			return lines
		}
	}
}
