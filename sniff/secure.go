package sniff

import (
	"crypto/aes"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"

	"chatlab/protocol"
	"chatlab/protocol/weak"
	"chatlab/sniff/event"
)

// Offsets in a secure record, after its 5-byte header (type, length).
const (
	offType   = 0
	offLength = 1
	offBody   = protocol.RecordHeaderLen
)

// secureUnit dissects one secure record.
func (t *Tap) secureUnit(c *conn, dir int, b []byte) int {
	h, body, _, err := protocol.ParseRecord(b)
	if errTruncated(err) {
		return 0
	}
	if err != nil {
		c.dirs[dir].raw = true
		t.rawUnit(c, dir, b, "not a chatlab record ("+err.Error()+")")
		return len(b)
	}
	n := protocol.RecordHeaderLen + len(body)
	record := b[:n]
	c.records++
	kind := event.KindRecord
	switch h.Type {
	case protocol.TypeHello:
		kind = event.KindHello
	case protocol.TypeKeyExchange:
		kind = event.KindKeyExchange
	}
	u := t.begin(c, dir, kind, record)
	u.Number = c.records
	t.field("type", offType, 1, event.ShowText, uint64(h.Type), h.Type.String())
	t.field("length", offLength, 4, event.ShowNum, uint64(h.Length), "")
	switch h.Type {
	case protocol.TypeHello:
		t.hello(c, record, body)
	case protocol.TypeKeyExchange:
		t.keyExchange(c, record, body)
	case protocol.TypeData:
		t.dataRecord(c, dir, record, body)
	}
	t.emitUnit()
	return n
}

func (t *Tap) hello(c *conn, record, body []byte) {
	if len(body) >= 6 {
		t.field("magic", offBody, 4, event.ShowText, 0, string(body[:4]))
		t.field("version", offBody+4, 1, event.ShowNum, uint64(body[4]), "")
		suite := protocol.SuiteID(body[5])
		t.field("suite", offBody+5, 1, event.ShowText, uint64(suite), suite.String())
	}
	hello, err := protocol.ParseHello(body)
	if err != nil {
		t.note(event.WarnMalformed, "malformed hello: "+err.Error())
		return
	}
	if hello.Random != nil {
		t.field("random", offBody+6, len(hello.Random), event.ShowHex, 0,
			"fresh for each connection: this session's keys are its own")
	} else {
		t.note(event.WarnOldVersion, "version 1: no server random, so this whole session can be recorded and replayed; chatlab clients now refuse it")
	}
	t.field("public key", offBody+protocol.KeyOffset(hello.Version), len(hello.KeyDER), event.ShowText, uint64(hello.PublicKey.N.BitLen()),
		protocol.FingerprintDER(hello.KeyDER))
	if hello.Suite.Weak() {
		t.note(event.WarnWeakSuite, "weak suite: "+hello.Suite.String())
	}
	c.hello = &hello
	c.helloRecord = append([]byte(nil), record...)
	if t.cfg.Key != nil && t.cfg.KeyLog == nil && !t.cfg.Key.PublicKey.Equal(hello.PublicKey) {
		t.note(event.WarnWrongKey, "--key is not this server's key: its records stay closed")
	}
}

func (t *Tap) keyExchange(c *conn, record, body []byte) {
	t.field("wrapped key", offBody, len(body), event.ShowSize, protocol.SessionKeySize,
		"RSA-OAEP-SHA256 of the AES session key: only the server's private key opens it")
	if c.hello == nil {
		return
	}
	sessionKey, via := t.sessionKey(c, record, body)
	if sessionKey == nil {
		return
	}
	toServer, toClient, err := protocol.DeriveKeys(sessionKey, protocol.Transcript(c.helloRecord, record))
	suite := suiteFor(c.hello.Suite)
	if err != nil || suite == nil {
		t.note(event.WarnMalformed, "cannot derive keys for suite "+c.hello.Suite.String())
		return
	}
	c.open[c2s], err = suite.New(toServer)
	if err == nil {
		c.open[s2c], err = suite.New(toClient)
	}
	if err != nil {
		t.note(event.WarnMalformed, "cannot derive keys: "+err.Error())
		return
	}
	c.via = via
	u := &t.unit
	u.Keys = append(u.Keys,
		event.Key{Name: "session key", Bytes: sessionKey, Via: via},
		event.Key{Name: "client → server key", Bytes: toServer, Via: via},
		event.Key{Name: "server → client key", Bytes: toClient, Via: via})
}

// sessionKey finds the session key of a key exchange: in the key log,
// or by unwrapping it with the server's private key.
func (t *Tap) sessionKey(c *conn, record, body []byte) ([]byte, event.Via) {
	if t.cfg.KeyLog != nil {
		if k, ok := t.cfg.KeyLog.Lookup(protocol.Transcript(c.helloRecord, record)); ok && len(k) == protocol.SessionKeySize {
			t.keyLogged++
			return k, event.ViaKeyLog
		}
		if t.cfg.Key == nil {
			t.note(event.WarnWrongKey, "this session is not in the --keylog file: its records stay closed")
		}
	}
	if t.cfg.Key == nil || !t.cfg.Key.PublicKey.Equal(c.hello.PublicKey) {
		return nil, 0
	}
	k, ok := t.unwrap(body, func() ([]byte, error) {
		return rsa.DecryptOAEP(sha256.New(), nil, t.cfg.Key, body, nil)
	})
	if !ok || len(k) != protocol.SessionKeySize {
		t.note(event.WarnBadRecord, "the key exchange does not open with --key")
		return nil, 0
	}
	return k, event.ViaKey
}

// maxUnwrapped bounds the remembered results of RSA decryptions. RSA is a
// millisecond per key exchange, so a file that repeats one key exchange
// thousands of times would otherwise cost seconds; remembering each
// distinct one costs 64 bytes.
const maxUnwrapped = 4096

// unwrap runs an RSA decryption once per distinct wrapped key.
func (t *Tap) unwrap(blob []byte, decrypt func() ([]byte, error)) ([]byte, bool) {
	id := sha256.Sum256(blob)
	if r, ok := t.unwrapped[id]; ok {
		return r, r != nil
	}
	k, err := decrypt()
	if err != nil {
		k = nil
	}
	if t.unwrapped == nil {
		t.unwrapped = map[[32]byte][]byte{}
	}
	if len(t.unwrapped) < maxUnwrapped {
		t.unwrapped[id] = k
	}
	return k, k != nil
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
			t.note(event.WarnMalformed, "body shorter than a CBC IV")
			return
		}
		iv, ct = body[:aes.BlockSize], body[aes.BlockSize:]
		t.field("iv", offBody, aes.BlockSize, event.ShowHex, 0, "")
		t.field("ciphertext", offBody+aes.BlockSize, len(ct), event.ShowSize, 0, "AES-128-CBC with PKCS#7 padding")
		t.note(event.WarnNoMAC, "no MAC: a changed, dropped or replayed record goes unnoticed (weak suite)")
	default:
		if len(body) < protocol.NonceSize+protocol.TagSize {
			t.note(event.WarnMalformed, "body shorter than a nonce and a tag")
			return
		}
		iv, ct = body[:protocol.NonceSize], body[protocol.NonceSize:len(body)-protocol.TagSize]
		seq := binary.BigEndian.Uint64(iv[4:])
		t.field("nonce", offBody, protocol.NonceSize, event.ShowHex, 0, "")
		if suite == protocol.SuiteFixedIVGCM {
			t.field("seq", offBody+4, 8, event.ShowText, seq, "fixed: the same nonce on every record (weak suite)")
		} else {
			t.field("seq", offBody+4, 8, event.ShowNum, seq, "")
		}
		t.field("ciphertext", offBody+protocol.NonceSize, len(ct), event.ShowSize, 0, "")
		t.field("tag", len(record)-protocol.TagSize, protocol.TagSize, event.ShowHex, 0, "")
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
	plain, err := c.open[dir].Open(t.plain[:0], seq, record[:protocol.RecordHeaderLen], body)
	if err != nil {
		t.note(event.WarnBadRecord, "does not open with the derived key: "+err.Error())
		return
	}
	t.plain = plain
	t.lineMessage(c, dir, string(plain), c.via)
}
