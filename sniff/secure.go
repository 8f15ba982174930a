package sniff

import (
	"crypto/aes"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"

	"chatlab/protocol"
	"chatlab/protocol/weak"
)

// secureUnit prints one secure record.
func (t *Tap) secureUnit(c *conn, dir int, b []byte) int {
	h, body, _, err := protocol.ParseRecord(b)
	if errTruncated(err) {
		return 0
	}
	if err != nil {
		c.dirs[dir].raw = true
		t.rawUnit(c, dir, b, "not a chatlab record ("+err.Error()+"): ")
		return len(b)
	}
	n := protocol.RecordHeaderLen + len(body)
	record := b[:n]
	c.records++
	t.start(c, dir)
	t.pal.paint(t.w, t.pal.label, fmt.Sprintf("record %d type=%s(0x%02x) len=%d", c.records, h.Type, uint8(h.Type), h.Length))
	t.w.WriteByte('\n')
	switch h.Type {
	case protocol.TypeHello:
		t.hello(c, record, body)
	case protocol.TypeKeyExchange:
		t.keyExchange(c, record, body)
	case protocol.TypeData:
		t.dataRecord(c, dir, record, body)
	}
	t.dump(record)
	return n
}

func (t *Tap) hello(c *conn, record, body []byte) {
	hello, err := protocol.ParseHello(body)
	if len(body) >= 6 {
		t.field(fmt.Sprintf("magic %q  version %d  suite %s (0x%02x)", body[:4], body[4], protocol.SuiteID(body[5]), body[5]))
	}
	if err != nil {
		t.warn("malformed hello: " + err.Error())
		return
	}
	t.field(fmt.Sprintf("server public key RSA-%d %s (%d bytes DER), in the clear", hello.PublicKey.N.BitLen(), protocol.FingerprintDER(hello.KeyDER), len(hello.KeyDER)))
	if hello.Suite.Weak() {
		t.warn("weak suite: " + hello.Suite.String())
	}
	c.hello = &hello
	c.helloRecord = append([]byte(nil), record...)
	if t.cfg.Key != nil && !t.cfg.Key.PublicKey.Equal(hello.PublicKey) {
		t.warn("--key is not this server's key: its records stay closed")
	}
}

func (t *Tap) keyExchange(c *conn, record, body []byte) {
	t.field(fmt.Sprintf("wrapped session key %d bytes: RSA-OAEP-SHA256 of a %d-byte AES key, only the server's private key opens it", len(body), protocol.SessionKeySize))
	if t.cfg.Key == nil || c.hello == nil || !t.cfg.Key.PublicKey.Equal(c.hello.PublicKey) {
		return
	}
	sessionKey, err := rsa.DecryptOAEP(sha256.New(), nil, t.cfg.Key, body, nil)
	if err != nil || len(sessionKey) != protocol.SessionKeySize {
		t.warn("the key exchange does not open with --key")
		return
	}
	toServer, toClient, err := protocol.DeriveKeys(sessionKey, protocol.Transcript(c.helloRecord, record))
	suite := suiteFor(c.hello.Suite)
	if err != nil || suite == nil {
		t.warn("cannot derive keys for suite " + c.hello.Suite.String())
		return
	}
	c.open[c2s], err = suite.New(toServer)
	if err == nil {
		c.open[s2c], err = suite.New(toClient)
	}
	if err != nil {
		t.warn("cannot derive keys: " + err.Error())
		return
	}
	t.pal.paint(t.w, t.pal.good, indent+"session key (unwrapped with --key) "+hexString(sessionKey))
	t.w.WriteByte('\n')
	t.field("client→server key " + hexString(toServer) + "  server→client key " + hexString(toClient))
}

// suiteFor returns the cipher suite with this ID, weak ones included: a
// dissector must open whatever the server chose.
func suiteFor(id protocol.SuiteID) protocol.CipherSuite {
	switch id {
	case protocol.SuiteAES128GCM:
		return protocol.AES128GCM()
	case protocol.SuiteFixedIVGCM:
		return weak.FixedIVGCM()
	case protocol.SuiteCBCNoMAC:
		return weak.CBCNoMAC()
	}
	return nil
}

func (t *Tap) dataRecord(c *conn, dir int, record, body []byte) {
	suite := protocol.SuiteAES128GCM
	if c.hello != nil {
		suite = c.hello.Suite
	}
	var iv, ct []byte
	switch suite {
	case protocol.SuiteCBCNoMAC:
		if len(body) < aes.BlockSize {
			t.warn("body shorter than a CBC IV")
			return
		}
		iv, ct = body[:aes.BlockSize], body[aes.BlockSize:]
		t.field("iv " + hexString(iv))
		t.field("ciphertext " + plural(len(ct), "byte") + ", AES-128-CBC with PKCS#7 padding")
		t.warn("no MAC: a changed, dropped or replayed record goes unnoticed (weak suite)")
	default:
		if len(body) < protocol.NonceSize+protocol.TagSize {
			t.warn("body shorter than a nonce and a tag")
			return
		}
		iv, ct = body[:protocol.NonceSize], body[protocol.NonceSize:len(body)-protocol.TagSize]
		seq := binary.BigEndian.Uint64(iv[4:])
		note := "(seq " + strconv.FormatUint(seq, 10) + ")"
		if suite == protocol.SuiteFixedIVGCM {
			note = "(fixed: the same nonce on every record, weak suite)"
		}
		t.field("nonce " + hexString(iv[:4]) + " " + hexString(iv[4:]) + " " + note)
		t.field("ciphertext " + plural(len(ct), "byte"))
		t.field("tag " + hexString(body[len(body)-protocol.TagSize:]))
	}
	// Each direction has its own key, so a nonce may repeat only within
	// one direction.
	t.trackIV(c, dir, dir, iv, ct, false, "record")
	if c.open[dir] == nil {
		return
	}
	seq := c.seq[dir]
	if suite == protocol.SuiteAES128GCM {
		seq = binary.BigEndian.Uint64(iv[4:])
	}
	c.seq[dir]++
	plain, err := c.open[dir].Open(nil, seq, record[:protocol.RecordHeaderLen], body)
	if err != nil {
		t.warn("does not open with the derived key: " + err.Error())
		return
	}
	t.w.WriteString(indent)
	t.message(c, dir, "opened with --key: ", string(plain))
}
