package attack

import (
	"crypto/aes"
	"fmt"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// flip applies every Flip for client record rec to body, in place.
func (d *direction) flip(rec int, body []byte) {
	for _, f := range d.r.cfg.Flips {
		if f.Record != rec {
			continue
		}
		start, where := d.locate(f)
		before := append([]byte(nil), body...)
		changed := 0
		for i, m := range f.XOR {
			if p := start + i; p < len(body) {
				body[p] ^= m
				changed++
			}
		}
		if changed == 0 {
			d.r.out.warnf("#%d record %d is %d bytes; --flip %s reaches past its end, nothing changed", d.cs.id, rec, len(body), f.Spec)
			continue
		}
		end := start + changed
		d.r.out.warnf("#%d FLIP record %d bytes %d..%d (%s): %s → %s", d.cs.id, rec, start, end-1, where,
			shortHex(before[start:end], 16), shortHex(body[start:end], 16))
		d.r.emit(Event{Conn: d.cs.id, Kind: Flipped, FromClient: true, Record: rec, Body: append([]byte(nil), body...)})
	}
}

// locate turns a flip into a body offset and says, for the report, what
// those bytes are in the suite in use.
func (d *direction) locate(f Flip) (int, string) {
	if d.r.cfg.Mode == chat.Plain {
		return f.Offset, "plain text: what you flip is what arrives"
	}
	suite := d.cs.getSuite()
	switch suite {
	case protocol.SuiteCBCNoMAC:
		// Body = IV | C0 | C1 …; plaintext byte p of block b is decrypted
		// block b XOR ciphertext block b-1 (the IV for b = 0), so the byte
		// that controls plaintext p sits at body offset p exactly.
		off := f.Offset
		if !f.Plaintext {
			return off, cbcWhere(off)
		}
		return off, cbcWhere(off) + fmt.Sprintf(", which controls plaintext from byte %d", off)
	case protocol.SuiteAES128GCM, protocol.SuiteFixedIVGCM:
		off := f.Offset
		if f.Plaintext {
			off += protocol.NonceSize
		}
		if off < protocol.NonceSize {
			return off, "the GCM nonce: the receiver expects its own sequence number there"
		}
		return off, "GCM ciphertext: counter mode flips the same plaintext bit, and the tag no longer matches"
	}
	return f.Offset, fmt.Sprintf("record body, %s", suite)
}

func cbcWhere(off int) string {
	if off < aes.BlockSize {
		return "the CBC IV: decryption XORs it into the first plaintext block, and no MAC checks it"
	}
	return fmt.Sprintf("CBC ciphertext block %d: it is XORed into the next plaintext block, and garbles its own", off/aes.BlockSize-1)
}
