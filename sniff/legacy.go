package sniff

import (
	"bytes"
	"fmt"

	"chatlab/protocol"
	"chatlab/protocol/legacy"
)

// legacyUnit prints one unit of the original program's format: the PEM
// key, the wrapped session key, or a frame.
func (t *Tap) legacyUnit(c *conn, dir int, b []byte) int {
	if dir == s2c && !c.legacyPEM && bytes.HasPrefix(b, []byte(pemBegin)) {
		n := legacy.PEMLen(b)
		if n == 0 {
			if len(b) > legacy.MaxPEM {
				c.dirs[dir].raw = true
				t.rawUnit(c, dir, b, "PEM key too long: ")
				return len(b)
			}
			return 0
		}
		t.legacyKey(c, dir, b[:n])
		return n
	}
	if dir == c2s && c.legacyPEM && !c.legacyKex {
		if len(b) < legacy.WrappedKeySize {
			return 0
		}
		t.legacyKeyExchange(c, dir, b[:legacy.WrappedKeySize])
		return legacy.WrappedKeySize
	}
	if len(b) < legacy.FrameSize {
		return 0
	}
	t.legacyFrame(c, dir, b[:legacy.FrameSize])
	return legacy.FrameSize
}

func (t *Tap) legacyKey(c *conn, dir int, text []byte) {
	c.legacyPEM = true
	t.start(c, dir)
	pub, err := legacy.ParsePublicKey(text)
	if err != nil {
		t.pal.paint(t.w, t.pal.label, "legacy public key, PEM in the clear: ")
		t.pal.paint(t.w, t.pal.warn, err.Error())
		t.w.WriteByte('\n')
	} else {
		c.legacyPub = pub
		t.pal.paint(t.w, t.pal.label, fmt.Sprintf("legacy public key, PEM in the clear: RSA-%d %s", pub.N.BitLen(), protocol.Fingerprint(pub)))
		t.w.WriteByte('\n')
	}
	for _, line := range bytes.SplitAfter(text, []byte("\n")) {
		if len(line) > 0 {
			t.field(protocol.Sanitize(string(bytes.TrimRight(line, "\r\n"))))
		}
	}
}

func (t *Tap) legacyKeyExchange(c *conn, dir int, blob []byte) {
	c.legacyKex = true
	t.start(c, dir)
	t.pal.paint(t.w, t.pal.label, fmt.Sprintf("legacy key exchange %d bytes: RSA-OAEP (SHA-1) of the %d-byte AES session key", len(blob), legacy.KeySize))
	t.w.WriteByte('\n')
	if t.cfg.Key != nil && c.legacyPub != nil && t.cfg.Key.PublicKey.Equal(c.legacyPub) {
		if key, err := legacy.UnwrapKey(t.cfg.Key, blob); err == nil {
			c.legacyKey = key
			t.pal.paint(t.w, t.pal.good, indent+"session key (unwrapped with --key) "+hexString(key))
			t.w.WriteByte('\n')
		} else {
			t.warn("the key exchange does not open with --key")
		}
	}
	t.dump(blob)
}

func (t *Tap) legacyFrame(c *conn, dir int, frame []byte) {
	c.records++
	iv, ct, _ := legacy.SplitFrame(frame)
	t.start(c, dir)
	t.pal.paint(t.w, t.pal.label, fmt.Sprintf("legacy frame %d, %d bytes", c.records, len(frame)))
	t.w.WriteByte('\n')
	note := ""
	if allZero(iv) {
		note = " (all zero)"
	}
	t.field("iv " + hexString(iv) + note)
	t.field(fmt.Sprintf("ciphertext %d bytes: AES-128-GCM output with the tag dropped, so nothing detects a change", len(ct)))
	// The original used one key both ways, so IVs collide across
	// directions too: one group per connection.
	t.trackIV(c, 0, dir, iv, ct, true, "frame")
	if c.legacyKey != nil {
		if m, err := legacy.OpenFrame(c.legacyKey, frame); err == nil {
			t.pal.paint(t.w, t.pal.good, indent+"opened with --key: ")
			t.pal.paint(t.w, t.pal.text, "name "+quote(m.Name)+" text "+quote(m.Text))
			t.w.WriteByte('\n')
		}
	}
	t.dump(frame)
}
