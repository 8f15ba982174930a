package sniff

import (
	"bytes"

	"chatlab/protocol"
	"chatlab/protocol/legacy"
	"chatlab/sniff/event"
)

// legacyUnit dissects one unit of the original program's format: the PEM
// key, the wrapped session key, or a frame.
func (t *Tap) legacyUnit(c *conn, dir int, b []byte) int {
	if dir == s2c && !c.legacyPEM && bytes.HasPrefix(b, []byte(pemBegin)) {
		n := legacy.PEMLen(b)
		if n == 0 {
			if len(b) > legacy.MaxPEM {
				c.dirs[dir].raw = true
				t.rawUnit(c, dir, b, "PEM key too long")
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
	t.begin(c, dir, event.KindLegacyKey, text)
	pub, err := legacy.ParsePublicKey(text)
	if err != nil {
		t.field("pem", 0, len(text), event.ShowSize, 0, "PEM public key in the clear")
		t.note(event.WarnMalformed, err.Error())
	} else {
		c.legacyPub = pub
		t.field("public key", 0, len(text), event.ShowText, uint64(pub.N.BitLen()), protocol.Fingerprint(pub))
	}
	t.emitUnit()
}

func (t *Tap) legacyKeyExchange(c *conn, dir int, blob []byte) {
	c.legacyKex = true
	u := t.begin(c, dir, event.KindLegacyKex, blob)
	t.field("wrapped key", 0, len(blob), event.ShowSize, legacy.KeySize,
		"RSA-OAEP (SHA-1) of the AES session key: only the server's private key opens it")
	if t.cfg.Key != nil && c.legacyPub != nil && t.cfg.Key.PublicKey.Equal(c.legacyPub) {
		key, ok := t.unwrap(blob, func() ([]byte, error) { return legacy.UnwrapKey(t.cfg.Key, blob) })
		if ok {
			c.legacyKey = key
			u.Keys = append(u.Keys, event.Key{Name: "session key", Bytes: key, Via: event.ViaKey})
		} else {
			t.note(event.WarnBadRecord, "the key exchange does not open with --key")
		}
	}
	t.emitUnit()
}

func (t *Tap) legacyFrame(c *conn, dir int, frame []byte) {
	c.records++
	iv, ct, _ := legacy.SplitFrame(frame)
	u := t.begin(c, dir, event.KindLegacyFrame, frame)
	u.Number = c.records
	if allZero(iv) {
		t.field("iv", 0, len(iv), event.ShowText, 0, "all zero")
	} else {
		t.field("iv", 0, len(iv), event.ShowHex, 0, "")
	}
	t.field("ciphertext", len(iv), len(ct), event.ShowSize, 0,
		"AES-128-GCM output with the tag dropped: nothing detects a change")
	// The original used one key both ways, so IVs collide across
	// directions too: one group per connection.
	t.trackIV(c, 0, dir, iv, ct, true, "frame")
	if c.legacyKey != nil {
		if m, err := legacy.OpenFrame(c.legacyKey, frame); err == nil {
			t.message(event.MsgChat, m.Name, m.Text, event.ViaKey)
		}
	}
	t.emitUnit()
}
