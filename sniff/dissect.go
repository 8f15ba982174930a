package sniff

import (
	"bytes"
	"errors"
	"strings"

	"chatlab/protocol"
	"chatlab/protocol/chat"
	"chatlab/protocol/legacy"
)

// detectLimit is how many bytes a direction may hold before a connection
// that matches nothing is called "other". Every format here shows itself
// in its first ten bytes, except a text line, which waits for its newline.
const detectLimit = 16

// pemBegin opens the original program's public key.
const pemBegin = "-----BEGIN "

// feed adds data to one direction and prints every whole unit in it.
func (t *Tap) feed(c *conn, dir int, data []byte) {
	if c.overflow {
		return
	}
	h := &c.dirs[dir]
	if h.raw {
		t.rawUnit(c, dir, data, "")
		return
	}
	h.buf = append(h.buf, data...)
	b := h.buf
	for len(b) > 0 && !h.raw {
		if c.proto == ProtoUnknown {
			c.proto = detect(dir, b)
			if c.proto == ProtoUnknown {
				break
			}
			if !t.segments {
				t.start(c, dir)
				t.w.WriteString("recognised as " + c.proto.String() + "\n")
			}
		}
		n := t.unit(c, dir, b)
		if n == 0 {
			break
		}
		b = b[n:]
	}
	if h.raw && len(b) > 0 {
		t.rawUnit(c, dir, b, "")
		b = nil
	}
	h.buf = append(h.buf[:0], b...)
}

// gap tells a direction that bytes were lost before the next data. A
// dissector mid-unit cannot continue, so what is buffered is shown raw and
// parsing restarts at the next data.
func (t *Tap) gap(c *conn, dir int, missing int) {
	if c.overflow {
		return
	}
	h := &c.dirs[dir]
	t.start(c, dir)
	t.pal.paint(t.w, t.pal.warn, plural(missing, "byte")+" missing (not captured)")
	t.w.WriteByte('\n')
	if len(h.buf) > 0 {
		t.rawUnit(c, dir, h.buf, "incomplete before the gap: ")
		h.buf = h.buf[:0]
	}
}

// finish shows what is left in a connection's buffers at the end.
func (t *Tap) finish(c *conn) {
	for dir := range c.dirs {
		h := &c.dirs[dir]
		if len(h.buf) > 0 {
			t.rawUnit(c, dir, h.buf, "incomplete at the end: ")
			h.buf = nil
		}
	}
}

// detect recognises a connection from the first bytes of one direction,
// or returns ProtoUnknown while it needs more of them.
func detect(dir int, b []byte) Proto {
	switch protocol.RecordType(b[0]) {
	case protocol.TypeHello, protocol.TypeKeyExchange, protocol.TypeData:
		if len(b) < protocol.RecordHeaderLen+len(protocol.Magic) {
			return ProtoUnknown
		}
		h, err := protocol.ParseHeader(b)
		switch {
		case err != nil:
		case h.Type == protocol.TypeHello && string(b[5:9]) == protocol.Magic,
			h.Type == protocol.TypeKeyExchange && h.Length == protocol.WrappedKeySize,
			h.Type == protocol.TypeData && h.Length >= protocol.NonceSize+protocol.TagSize:
			return ProtoSecure
		}
	}
	if bytes.HasPrefix(b, []byte(pemBegin)) {
		return ProtoLegacy
	}
	if len(b) < len(pemBegin) && strings.HasPrefix(pemBegin, string(b)) {
		return ProtoUnknown
	}
	if len(b) >= legacy.FrameSize && allZero(b[:legacy.IVSize]) && !isText(b[:legacy.FrameSize]) {
		return ProtoLegacy // joined after the key exchange: zero-IV frames
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		if isText(b[:i+1]) {
			return ProtoPlain
		}
		return ProtoOther
	}
	if isText(b) && len(b) <= protocol.MaxLine {
		return ProtoUnknown // a line still arriving
	}
	if len(b) < detectLimit && allZero(b) {
		return ProtoUnknown
	}
	return ProtoOther
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// unit prints the first whole unit of b and returns its length, or 0 if
// b holds only part of one.
func (t *Tap) unit(c *conn, dir int, b []byte) int {
	switch c.proto {
	case ProtoPlain:
		return t.plainUnit(c, dir, b)
	case ProtoSecure:
		return t.secureUnit(c, dir, b)
	case ProtoLegacy:
		return t.legacyUnit(c, dir, b)
	}
	t.rawUnit(c, dir, b, "")
	return len(b)
}

// plainUnit prints one text line.
func (t *Tap) plainUnit(c *conn, dir int, b []byte) int {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		if len(b) > protocol.MaxLine+2 || !isText(b) {
			c.dirs[dir].raw = true
			t.rawUnit(c, dir, b, "not a chatlab line: ")
			return len(b)
		}
		return 0
	}
	line := b[:i]
	line = bytes.TrimSuffix(line, []byte("\r"))
	if !isText(b[:i+1]) {
		t.rawUnit(c, dir, b[:i+1], "not a chatlab line: ")
		return i + 1
	}
	t.start(c, dir)
	t.message(c, dir, "plain ", string(line))
	if dir == s2c && string(line) == chat.Banner {
		c.bannerSeen = true
	}
	return i + 1
}

// message labels one chat line, as sent in plain mode or opened from a
// record, and ends the line.
func (t *Tap) message(c *conn, dir int, prefix, line string) {
	h := &c.dirs[dir]
	// Records opened with --key mean the key exchange was seen, so the
	// first of them is the name too.
	name := dir == c2s && h.lines == 0 && (c.fromStart || c.bannerSeen || c.open[c2s] != nil)
	kind, detail := lineLabel(dir, name, line)
	h.lines++
	t.pal.paint(t.w, t.pal.label, prefix+kind)
	t.w.WriteByte(' ')
	t.pal.paint(t.w, t.pal.text, detail)
	t.w.WriteByte('\n')
}

// lineLabel names a chat line by who sent it and what it is: name is set
// for a client's first line, a server's "* " lines are notices.
func lineLabel(dir int, name bool, line string) (kind, detail string) {
	if dir == c2s {
		switch {
		case name:
			return "name", quote(line)
		case strings.HasPrefix(line, "/"):
			return "command", quote(line)
		}
		return "message", quote(line)
	}
	if strings.HasPrefix(line, "* ") {
		return "notice", quote(line)
	}
	if name, text, ok := strings.Cut(line, ": "); ok && protocol.ValidName(name) == nil {
		return "chat", "from " + quote(name) + " text " + quote(text)
	}
	return "line", quote(line)
}

// rawUnit shows bytes no dissector claims: as text if they read as text,
// else as a hex dump.
func (t *Tap) rawUnit(c *conn, dir int, b []byte, note string) {
	t.start(c, dir)
	if isText(b) {
		t.pal.paint(t.w, t.pal.label, note+"text "+plural(len(b), "byte"))
		t.w.WriteByte(' ')
		t.pal.paint(t.w, t.pal.text, quote(string(b)))
		t.w.WriteByte('\n')
		return
	}
	t.pal.paint(t.w, t.pal.label, note+"binary "+plural(len(b), "byte"))
	t.w.WriteByte('\n')
	t.dump(b)
}

// errTruncated reports whether err means "wait for more bytes".
func errTruncated(err error) bool { return errors.Is(err, protocol.ErrTruncated) }
