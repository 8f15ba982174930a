package sniff

import (
	"fmt"
	"strings"

	"chatlab/protocol/legacy"
)

// maxTrackedIVs bounds the IVs remembered per connection (with the first
// ciphertext under each), so a long capture cannot grow without bound.
// A lesson's connection has tens of records.
const maxTrackedIVs = 4096

// ivTracker remembers, per key, which IVs a connection used.
type ivTracker struct {
	groups map[ivKey]*ivGroup
	order  []*ivGroup
	reused int
}

// ivKey is one IV under one key. The key is named by its group: a
// direction for chatlab (a key each way), 0 for the original program (one
// key both ways).
type ivKey struct {
	group int
	iv    string
}

// ivGroup is the ciphertexts sent under one key and one IV. With two or
// more, they share a keystream.
type ivGroup struct {
	iv      []byte
	padded  bool // NUL-padded fixed fields: the original program's frames
	what    string
	samples []ivSample
}

type ivSample struct {
	n   int // record or frame number in the connection
	dir int
	ct  []byte
}

// trackIV records that ciphertext ct went out under iv and warns when the
// IV was already used under the same key.
func (t *Tap) trackIV(c *conn, group, dir int, iv, ct []byte, padded bool, what string) {
	tr := &c.reuse
	if tr.groups == nil {
		tr.groups = map[ivKey]*ivGroup{}
	}
	k := ivKey{group, string(iv)}
	g := tr.groups[k]
	if g == nil {
		if len(tr.groups) >= maxTrackedIVs {
			return
		}
		g = &ivGroup{iv: append([]byte(nil), iv...), padded: padded, what: what}
		tr.groups[k] = g
		tr.order = append(tr.order, g)
	} else {
		tr.reused++
		first := g.samples[0].n
		if len(g.samples) == 1 {
			t.warn(fmt.Sprintf("WARNING IV reuse: %s %d has the IV of %s %d under the same key. The two share a keystream: XOR of the ciphertexts is XOR of the plaintexts.", what, c.records, what, first))
		} else {
			t.warn(fmt.Sprintf("IV reuse again: %d %ss so far under this IV and key", len(g.samples)+1, what))
		}
	}
	g.samples = append(g.samples, ivSample{n: c.records, dir: dir, ct: append([]byte(nil), ct...)})
}

// unknownByte stands for a plaintext byte whose keystream is not known.
const unknownByte = '.'

// minCrib is the shortest crib tried. Shorter ones fit by chance.
const minCrib = 3

// keystream is what a passive eavesdropper learns of one shared keystream.
type keystream struct {
	ks             []byte
	known          []bool
	voted, cribbed int
}

// recoverKeystream works out as much keystream as it can from ciphertexts
// that all used it. For NUL-padded plaintexts, the most common ciphertext
// byte at a position is most likely keystream XOR 0: a majority vote.
// Then each crib is taken as the start of a message (or, in the original
// program's frames, of a name or a text field) in each ciphertext in
// turn; a placement is kept when it agrees with what is known and turns
// every other ciphertext there into text.
func recoverKeystream(cts [][]byte, padded bool, cribs [][]byte) keystream {
	n := 0
	for _, ct := range cts {
		n = max(n, len(ct))
	}
	k := keystream{ks: make([]byte, n), known: make([]bool, n)}
	if padded {
		var votes [256]int
		for i := 0; i < n; i++ {
			votes = [256]int{}
			cover := 0
			best := 0
			for _, ct := range cts {
				if i < len(ct) {
					cover++
					votes[ct[i]]++
					if votes[ct[i]] > votes[best] {
						best = int(ct[i])
					}
				}
			}
			if votes[best] >= 2 && 2*votes[best] > cover {
				k.ks[i], k.known[i] = byte(best), true
				k.voted++
			}
		}
	}
	offsets := []int{0}
	if padded {
		offsets = []int{0, legacy.NameSize}
	}
	for _, crib := range cribs {
		if len(crib) < minCrib {
			continue
		}
		for si, ct := range cts {
			for _, off := range offsets {
				if off+len(crib) > len(ct) || !k.fits(cts, si, off, crib, padded) {
					continue
				}
				for j := range crib {
					if !k.known[off+j] {
						k.known[off+j] = true
						k.cribbed++
					}
					k.ks[off+j] = ct[off+j] ^ crib[j]
				}
			}
		}
	}
	return k
}

// fits reports whether crib at offset off of ciphertext si is consistent
// with the known keystream and yields likely text in every other
// ciphertext.
func (k *keystream) fits(cts [][]byte, si, off int, crib []byte, padded bool) bool {
	ct := cts[si]
	for j, p := range crib {
		ks := ct[off+j] ^ p
		if k.known[off+j] && k.ks[off+j] != ks {
			return false
		}
		for oi, other := range cts {
			if oi == si || off+j >= len(other) {
				continue
			}
			if q := other[off+j] ^ ks; !likelyText(q) && !(padded && q == 0) {
				return false
			}
		}
	}
	return true
}

// likelyText is the bytes a chat message is made of. It is stricter than
// "printable" on purpose: letters XORed with a wrong guess often stay
// printable, but rarely stay letters, digits, spaces and punctuation.
func likelyText(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == ' ':
		return true
	}
	return strings.IndexByte(".,!?'-:;/()*@#", c) >= 0
}

// plaintext applies the known keystream to ct; unknown bytes show as
// unknownByte.
func (k *keystream) plaintext(ct []byte) []byte {
	p := make([]byte, len(ct))
	for i, c := range ct {
		if k.known[i] {
			p[i] = c ^ k.ks[i]
		} else {
			p[i] = unknownByte
		}
	}
	return p
}

// recoverReuse prints, for every IV used more than once under one key,
// what an eavesdropper reads without the key.
func (t *Tap) recoverReuse(c *conn) {
	for _, g := range c.reuse.order {
		if len(g.samples) < 2 {
			continue
		}
		cts := make([][]byte, len(g.samples))
		for i, s := range g.samples {
			cts[i] = s.ct
		}
		k := recoverKeystream(cts, g.padded, t.cribs)
		t.pal.paint(t.w, t.pal.warn, fmt.Sprintf("#%d IV reuse recovery (%s ↔ %s, %s)", c.id, c.client, c.server, c.proto))
		t.w.WriteByte('\n')
		t.field(fmt.Sprintf("%d %ss share IV %s under one key, so they share one keystream.", len(g.samples), g.what, hexString(g.iv)))
		how := fmt.Sprintf("keystream known for %d of %d bytes", k.voted+k.cribbed, len(k.ks))
		if g.padded {
			how += fmt.Sprintf(": %d by a majority vote over the NUL padding", k.voted)
		}
		if len(t.cribs) > 0 {
			how += fmt.Sprintf(", %d from cribs", k.cribbed)
		} else {
			how += " (add --crib TEXT with a guessed plaintext to learn more)"
		}
		t.field(how)
		for _, s := range g.samples {
			p := k.plaintext(s.ct)
			dir := "client → server"
			if s.dir == s2c {
				dir = "server → client"
			}
			t.w.WriteString(indent)
			t.w.WriteString(fmt.Sprintf("%s %d %s  ", g.what, s.n, dir))
			if g.padded && len(p) == legacy.PlaintextSize {
				t.pal.paint(t.w, t.pal.good, "name "+quote(recoveredField(p[:legacy.NameSize]))+" text "+quote(recoveredField(p[legacy.NameSize:])))
			} else {
				t.pal.paint(t.w, t.pal.good, quote(string(p)))
			}
			t.w.WriteByte('\n')
		}
	}
}

// recoveredField cuts a NUL-padded field at its first NUL, keeping
// unknown bytes visible.
func recoveredField(b []byte) string {
	s := string(b)
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return s
}
