package sniff

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"chatlab/protocol"
	"chatlab/protocol/chat"
	"chatlab/protocol/legacy"
	"chatlab/sniff/event"
)

// detectLimit is how many bytes a direction may hold before a connection
// that matches nothing is called "other". Every format here shows itself
// in its first ten bytes, except a text line, which waits for its newline.
const detectLimit = 16

// pemBegin opens the original program's public key.
const pemBegin = "-----BEGIN "

// feed adds data to one direction and dissects every whole unit in it.
func (t *Tap) feed(c *conn, dir int, data []byte) {
	if c.overflow {
		return
	}
	h := &c.dirs[dir]
	if h.skip > 0 {
		// The rest of a unit cut short before: not dissected.
		n := min(h.skip, len(data))
		h.skip -= n
		if data = data[n:]; len(data) == 0 {
			return
		}
	}
	if h.raw {
		t.rawUnit(c, dir, data, "")
		return
	}
	// Most segments carry whole units: dissect them where they lie, and
	// keep only a tail that is still incomplete.
	b := data
	if len(h.buf) > 0 {
		h.buf = append(h.buf, data...)
		b = h.buf
	}
	for len(b) > 0 && !h.raw {
		if c.ev.Proto == event.ProtoUnknown {
			c.ev.Proto = detect(dir, b)
			if c.ev.Proto == event.ProtoUnknown {
				break
			}
			t.sink.Emit(&event.Recognised{Conn: &c.ev})
		}
		n := t.dissect(c, dir, b)
		if n == 0 {
			break
		}
		b = b[n:]
	}
	if h.raw && len(b) > 0 {
		t.rawUnit(c, dir, b, "")
		b = nil
	}
	if len(h.buf) > 0 {
		h.buf = append(h.buf[:0], b...)
	} else {
		h.buf = append(h.buf, b...)
	}
}

// gap tells a direction that bytes were lost before the next data. A
// dissector mid-unit cannot continue: what is buffered is shown as cut
// short, and parsing restarts at the next unit if the format says where
// that is, else at the next data.
func (t *Tap) gap(c *conn, dir int, missing int) {
	if c.overflow {
		return
	}
	h := &c.dirs[dir]
	// Bytes a cut packet lost were announced at that packet.
	announced := min(h.cut, missing)
	h.cut -= announced
	if missing > announced {
		t.emitWarning(c, dir, event.WarnGap, plural(missing-announced, "byte")+" missing (not captured)")
	}
	// Lost bytes of a unit whose rest is being skipped are part of it.
	inUnit := min(h.skip, missing)
	h.skip -= inUnit
	if missing -= inUnit; missing > 0 {
		t.lose(c, dir, missing, "incomplete before the gap")
	}
}

// lose shows what is buffered of a unit that missing bytes, sent but not
// captured, cut short, and where the unit's length is known (a secure
// record's header, the original program's fixed frames) arranges to
// skip the rest of it, so the dissection picks up again at the next unit.
func (t *Tap) lose(c *conn, dir, missing int, note string) {
	h := &c.dirs[dir]
	if len(h.buf) == 0 {
		return
	}
	if total := unitLength(c, dir, h.buf); total > 0 {
		if rest := total - len(h.buf) - missing; rest >= 0 {
			h.skip = rest
			c.records++ // it was sent, and counts
			what := "record "
			if c.ev.Proto == event.ProtoLegacy {
				what = "frame "
			}
			note = what + strconv.Itoa(c.records) + " cut short, " + strconv.Itoa(len(h.buf)) + " of its " +
				plural(total, "byte") + " captured"
		}
	}
	t.rawUnit(c, dir, h.buf, note)
	h.buf = h.buf[:0]
}

// unitLength is the length of the unit that b starts, when its format
// says so from its first bytes; 0 otherwise.
func unitLength(c *conn, dir int, b []byte) int {
	switch c.ev.Proto {
	case event.ProtoSecure:
		if hd, err := protocol.ParseHeader(b); err == nil {
			return protocol.RecordHeaderLen + int(hd.Length)
		}
	case event.ProtoLegacy:
		if c.legacyKex || dir == s2c && c.legacyPEM {
			return legacy.FrameSize
		}
	}
	return 0
}

// cut tells a direction, in Follow, that the packet just handed to the
// reassembler was cut short by the capture's snap length: missing bytes
// of it were sent but not captured. The hole is said here, at the packet
// that has it; when the reassembler later skips over it, that skip is not
// blamed on the segment after it.
func (t *Tap) cut(c *conn, dir int, missing int) {
	if c.overflow {
		return
	}
	c.dirs[dir].cut += missing
	t.emitWarning(c, dir, event.WarnCut, cutText(t.packet, missing))
}

// cutText says that a packet lost bytes to the snap length.
func cutText(packet, missing int) string {
	return "packet " + strconv.Itoa(packet) + " was cut by the snap length: " +
		plural(missing, "byte") + " of it were sent but not captured"
}

// cutNotice says, at the packet that has the hole, that the snap length
// cut it, and shows what was captured of the unit it cut.
func (t *Tap) cutNotice(c *conn, dir, missing int) {
	t.emitWarning(c, dir, event.WarnCut, cutText(t.packet, missing))
	h := &c.dirs[dir]
	inUnit := min(h.skip, missing)
	h.skip -= inUnit
	if missing -= inUnit; missing > 0 {
		t.lose(c, dir, missing, "incomplete before the cut")
	}
}

// finish shows what is left in a connection's buffers at the end.
func (t *Tap) finish(c *conn) {
	for dir := range c.dirs {
		h := &c.dirs[dir]
		if len(h.buf) > 0 {
			t.rawUnit(c, dir, h.buf, "incomplete at the end")
			h.buf = nil
		}
	}
}

// detect recognises a connection from the first bytes of one direction,
// or returns ProtoUnknown while it needs more of them.
func detect(dir int, b []byte) event.Proto {
	switch protocol.RecordType(b[0]) {
	case protocol.TypeHello, protocol.TypeKeyExchange, protocol.TypeData:
		if len(b) < protocol.RecordHeaderLen+len(protocol.Magic) {
			return event.ProtoUnknown
		}
		h, err := protocol.ParseHeader(b)
		switch {
		case err != nil:
		case h.Type == protocol.TypeHello && string(b[5:9]) == protocol.Magic,
			h.Type == protocol.TypeKeyExchange && h.Length == protocol.WrappedKeySize,
			h.Type == protocol.TypeData && h.Length >= protocol.NonceSize+protocol.TagSize:
			return event.ProtoSecure
		}
	}
	if bytes.HasPrefix(b, []byte(pemBegin)) {
		return event.ProtoLegacy
	}
	if len(b) < len(pemBegin) && strings.HasPrefix(pemBegin, string(b)) {
		return event.ProtoUnknown
	}
	if len(b) >= legacy.FrameSize && allZero(b[:legacy.IVSize]) && !isText(b[:legacy.FrameSize]) {
		return event.ProtoLegacy // joined after the key exchange: zero-IV frames
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		if isText(b[:i+1]) {
			return event.ProtoPlain
		}
		return event.ProtoOther
	}
	if isText(b) && len(b) <= protocol.MaxLine {
		return event.ProtoUnknown // a line still arriving
	}
	if len(b) < detectLimit && allZero(b) {
		return event.ProtoUnknown
	}
	return event.ProtoOther
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// dissect dissects the first whole unit of b and returns its length, or 0 if
// b holds only part of one.
func (t *Tap) dissect(c *conn, dir int, b []byte) int {
	switch c.ev.Proto {
	case event.ProtoPlain:
		return t.plainUnit(c, dir, b)
	case event.ProtoSecure:
		return t.secureUnit(c, dir, b)
	case event.ProtoLegacy:
		return t.legacyUnit(c, dir, b)
	}
	t.rawUnit(c, dir, b, "")
	return len(b)
}

// plainUnit dissects one text line.
func (t *Tap) plainUnit(c *conn, dir int, b []byte) int {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		if len(b) > protocol.MaxLine+2 || !isText(b) {
			c.dirs[dir].raw = true
			t.rawUnit(c, dir, b, "not a chatlab line")
			return len(b)
		}
		return 0
	}
	if !isText(b[:i+1]) {
		t.rawUnit(c, dir, b[:i+1], "not a chatlab line")
		return i + 1
	}
	line := b[:i]
	line = bytes.TrimSuffix(line, []byte("\r"))
	t.begin(c, dir, event.KindLine, b[:i+1])
	t.field("text", 0, len(line), event.ShowText, 0, "")
	t.lineMessage(c, dir, string(line), event.ViaWire)
	t.emitUnit()
	if dir == s2c && string(line) == chat.Banner {
		c.bannerSeen = true
	}
	return i + 1
}

// lineMessage sets the chat line the unit under way carries, named by who
// sent it and what it is: a client's first line is its name, a server's
// "* " lines are notices.
func (t *Tap) lineMessage(c *conn, dir int, line string, via event.Via) {
	h := &c.dirs[dir]
	// Records opened with a key mean the key exchange was seen, so the
	// first of them is the name too.
	name := dir == c2s && h.lines == 0 && (c.ev.FromStart || c.bannerSeen || c.open[c2s] != nil)
	h.lines++
	kind, from, text := event.MsgText, "", line
	switch {
	case dir == c2s && name:
		kind = event.MsgName
	case dir == c2s && strings.HasPrefix(line, "/"):
		kind = event.MsgCommand
	case dir == c2s:
	case strings.HasPrefix(line, "* "):
		kind = event.MsgNotice
	default:
		kind = event.MsgLine
		if n, rest, ok := strings.Cut(line, ": "); ok && protocol.ValidName(n) == nil {
			kind, from, text = event.MsgChat, n, rest
		}
	}
	t.message(kind, from, text, via)
}

// rawUnit shows bytes no dissector claims; note says why, if there is a
// reason.
func (t *Tap) rawUnit(c *conn, dir int, b []byte, note string) {
	u := t.begin(c, dir, event.KindRaw, b)
	u.Note = note
	t.emitUnit()
}

// errTruncated reports whether err means "wait for more bytes".
func errTruncated(err error) bool { return errors.Is(err, protocol.ErrTruncated) }
