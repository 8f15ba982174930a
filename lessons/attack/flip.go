package attack

import (
	"bytes"
	"crypto/aes"
	"fmt"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// flipShown is how many bytes a FLIP line shows before and after, so it
// fits a projector's width.
const flipShown = 8

// flip applies every Flip for client record rec to body, in place.
func (d *direction) flip(rec int, body []byte) {
	for _, f := range d.r.cfg.Flips {
		if f.Record != rec {
			continue
		}
		start, where := d.locate(f)
		d.checkEdit(f, rec, body, start)
		before := append([]byte(nil), body...)
		changed := 0
		for i, m := range f.XOR {
			if p := start + i; p < len(body) {
				body[p] ^= m
				changed++
			}
		}
		if changed == 0 {
			d.r.out.warnf("#%d %s %s: client record %d is only %d bytes; nothing changed",
				d.cs.id, f.flag(), f.Spec, rec, len(body))
			continue
		}
		end := start + changed
		plain := ""
		if f.Plaintext {
			plain = fmt.Sprintf(" (for plaintext bytes %d..%d)", f.Offset, f.Offset+changed-1)
		}
		d.r.out.warnf("#%d FLIP client record %d, bytes %d..%d%s", d.cs.id, rec, start, end-1, plain)
		d.r.out.infof("#%d   %s → %s", d.cs.id, shortHex(before[start:end], flipShown), shortHex(body[start:end], flipShown))
		d.r.out.infof("#%d   %s", d.cs.id, where)
		d.r.emit(Event{Conn: d.cs.id, Kind: Flipped, FromClient: true, Record: rec, Body: append([]byte(nil), body...)})
	}
}

// checkEdit warns when the relay can read the text an edit expects, and
// it is not there: in plain mode the relay sees every line.
func (d *direction) checkEdit(f Flip, rec int, body []byte, start int) {
	if f.Old == "" || d.r.cfg.Mode != chat.Plain {
		return
	}
	text := body[min(start, len(body)):]
	if bytes.HasPrefix(text, []byte(f.Old)) {
		return
	}
	shown := protocol.Sanitize(string(bytes.TrimRight(text[:min(len(text), len(f.Old))], "\r\n")))
	d.r.out.warnf("#%d --edit %s: client record %d starts %q, not %q;", d.cs.id, f.Spec, rec, shown, f.Old)
	d.r.out.warnf("#%d   flipped anyway, so it arrives as neither", d.cs.id)
}

// flag is the relay flag f came from, for messages.
func (f Flip) flag() string {
	if f.Plaintext && f.Old != "" {
		return "--edit"
	}
	return "--flip"
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
		return f.Offset, cbcWhere(f.Offset)
	case protocol.SuiteAES128GCM, protocol.SuiteFixedIVGCM:
		off := f.Offset
		if f.Plaintext {
			off += protocol.NonceSize
		}
		if off < protocol.NonceSize {
			return off, "the GCM nonce: the receiver expects its own sequence number there"
		}
		return off, "GCM ciphertext: counter mode flips that plaintext bit; the tag no longer matches"
	}
	return f.Offset, fmt.Sprintf("record body, %s", suite)
}

func cbcWhere(off int) string {
	if off < aes.BlockSize {
		return "the CBC IV, XORed into the first plaintext block; no MAC checks it"
	}
	return fmt.Sprintf("CBC ciphertext block %d, XORed into the next plaintext block; garbles its own", off/aes.BlockSize-1)
}
