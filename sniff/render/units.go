package render

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"chatlab/protocol"
	"chatlab/sniff/event"
)

// title is a unit's first line: what it is, with what matters most.
func title(u *event.Unit) string {
	f := fields(u)
	num := "record " + strconv.Itoa(u.Number) + " "
	switch u.Kind {
	case event.KindHello:
		s := num + "hello"
		if m, ok := f.get("magic"); ok {
			s += ": " + m.Text
		}
		if v, ok := f.get("version"); ok {
			s += " version " + strconv.FormatUint(v.Num, 10)
		}
		if v, ok := f.get("suite"); ok {
			s += ", suite " + v.Text + " (0x" + hex2(byte(v.Num)) + ")"
		}
		return s
	case event.KindKeyExchange:
		w, _ := f.get("wrapped key")
		return num + "key exchange: the " + strconv.FormatUint(w.Num, 10) + "-byte AES key, RSA-OAEP-wrapped, " +
			plural(w.Len, "byte")
	case event.KindRecord:
		s := num + "data"
		if q, ok := f.get("seq"); ok {
			if q.Show == event.ShowText {
				s += ", nonce fixed"
			} else {
				s += ", seq " + strconv.FormatUint(q.Num, 10)
			}
		}
		if ct, ok := f.get("ciphertext"); ok {
			s += ": " + plural(ct.Len, "byte") + " of ciphertext"
			if ct.Text != "" {
				s += " (" + ct.Text + ")"
			}
		}
		if _, ok := f.get("tag"); ok {
			s += " and a 16-byte tag"
		}
		return s
	case event.KindLegacyKey:
		return "public key, PEM in the clear, " + plural(len(u.Bytes), "byte")
	case event.KindLegacyKex:
		w, _ := f.get("wrapped key")
		return "key exchange: the " + strconv.FormatUint(w.Num, 10) + "-byte AES key, RSA-OAEP-wrapped (SHA-1), " +
			plural(len(u.Bytes), "byte")
	case event.KindLegacyFrame:
		s := "frame " + strconv.Itoa(u.Number)
		if iv, ok := f.get("iv"); ok && iv.Show == event.ShowText {
			s += ": iv " + iv.Text
		} else {
			s += ":"
		}
		if ct, ok := f.get("ciphertext"); ok {
			s += ", " + plural(ct.Len, "byte") + " of AES-128-GCM output with no tag"
		}
		return s
	}
	return u.Kind.String()
}

// details are the lines under a unit's title, before its bytes.
func details(u *event.Unit) []string {
	f := fields(u)
	switch u.Kind {
	case event.KindHello:
		if k, ok := f.get("public key"); ok {
			return []string{"RSA-" + strconv.FormatUint(k.Num, 10) + " public key, " + plural(k.Len, "byte") +
				", " + k.Text + ", in the clear"}
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
	if isText(u.Bytes) {
		// Text in the clear, such as a PEM key, reads better as text.
		return Quote(cut(string(u.Bytes), width-2))
	}
	type chunk struct {
		b      []byte
		shrink bool
	}
	var chunks []chunk
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
		chunks = []chunk{{u.Bytes, true}}
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
	var s []byte
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
	return cutBytes(string(s), width)
}

// shortHex is b in hex, cut to width columns.
func shortHex(b []byte, width int) string {
	n := (width - 1) / 2
	if len(b) <= width/2 {
		return string(appendHex(nil, b))
	}
	return string(appendHex(nil, b[:n])) + "…"
}

// cut shortens s to at most n runes, ending it with "…" if it was longer.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// cutBytes is cut for text that is ASCII but for its "…" marks.
func cutBytes(s string, n int) string { return cut(s, n) }

func hex2(b byte) string { return string([]byte{hexDigits[b>>4], hexDigits[b&15]}) }

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

// wrap breaks s into lines of at most width runes at spaces; lines after
// the first are for a hanging indent of hang runes, so they get width-hang.
func wrap(s string, first, width, hang int) []string {
	var lines []string
	limit := first
	for utf8.RuneCountInString(s) > limit && limit > 10 {
		r := []rune(s)
		i := limit
		for i > limit/2 && r[i] != ' ' {
			i--
		}
		if r[i] != ' ' {
			i = limit
		}
		lines = append(lines, strings.TrimRight(string(r[:i]), " "))
		s = strings.TrimLeft(string(r[i:]), " ")
		limit = width - hang
	}
	return append(lines, s)
}
