package sniff

import (
	"fmt"
	"strings"

	"chatlab/protocol/legacy"
)

// maxTrackedIVs bounds the IVs remembered per connection, so a long
// capture cannot grow without bound. A lesson's connection has tens of
// records; a connection that sends this many without repeating one uses
// fresh IVs, and its unrepeated ones are forgotten.
const maxTrackedIVs = 4096

// maxSamplesPerIV is how many ciphertexts under one IV are kept for the
// recovery; later ones are counted, not kept. The majority vote needs more
// NUL-padded bytes than others at a position and a crib needs one place
// that fits: a few dozen ciphertexts give both, and more only add memory
// and work.
const maxSamplesPerIV = 64

// maxTrackedBytes caps what a Tap keeps for the IV reuse analysis over all
// its connections: ciphertexts and a charge of ivEntryCost for each IV.
// It holds 64 legacy frames under each of hundreds of IVs, or 64
// full-size records under a few; past it, no new IV is tracked and no
// further ciphertext kept, though repeats of tracked IVs are still
// reported.
const maxTrackedBytes = 8 << 20

// ivEntryCost is what an IV costs in the budget besides its bytes: the
// map entry, the group and its first sample, roughly.
const ivEntryCost = 128

// ivTracker remembers, per key, which IVs a connection used.
type ivTracker struct {
	groups map[ivKey]*ivGroup
	order  []*ivGroup
	reused int
	// fresh is set once the connection sent maxTrackedIVs IVs: its
	// unrepeated ones were dropped and no new ones are tracked.
	fresh bool
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
	key     ivKey
	padded  bool // NUL-padded fixed fields: the original program's frames
	what    string
	seen    int        // ciphertexts sent under this IV
	samples []ivSample // the first of them, at most maxSamplesPerIV
	cost    int        // its charge to the Tap's maxTrackedBytes
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
	k := ivKey{group, string(iv)}
	g := tr.groups[k]
	if g == nil {
		if len(tr.groups) >= maxTrackedIVs && !tr.fresh {
			t.forgetUnrepeated(tr)
		}
		cost := ivEntryCost + len(iv) + len(ct)
		if tr.fresh || t.ivBytes+cost > maxTrackedBytes {
			return
		}
		if tr.groups == nil {
			tr.groups = map[ivKey]*ivGroup{}
		}
		g = &ivGroup{key: k, padded: padded, what: what}
		tr.groups[k] = g
		tr.order = append(tr.order, g)
		g.cost = ivEntryCost + len(iv)
		t.ivBytes += g.cost
	} else {
		tr.reused++
		first := g.samples[0].n
		if g.seen == 1 {
			t.warn(fmt.Sprintf("WARNING IV reuse: %s %d has the IV of %s %d under the same key. The two share a keystream: XOR of the ciphertexts is XOR of the plaintexts.", what, c.records, what, first))
		} else {
			t.warn(fmt.Sprintf("IV reuse again: %d %ss so far under this IV and key", g.seen+1, what))
		}
	}
	g.seen++
	if len(g.samples) < maxSamplesPerIV && t.ivBytes+len(ct) <= maxTrackedBytes {
		g.samples = append(g.samples, ivSample{n: c.records, dir: dir, ct: append([]byte(nil), ct...)})
		g.cost += len(ct)
		t.ivBytes += len(ct)
	}
}

// forgetUnrepeated drops the IVs a connection used only once, and stops
// tracking new ones: after maxTrackedIVs IVs, it evidently uses fresh ones.
func (t *Tap) forgetUnrepeated(tr *ivTracker) {
	tr.fresh = true
	kept := tr.order[:0]
	for _, g := range tr.order {
		if g.seen > 1 {
			kept = append(kept, g)
			continue
		}
		delete(tr.groups, g.key)
		t.ivBytes -= g.cost
	}
	clear(tr.order[len(kept):])
	tr.order = kept
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
	// steps counts the byte comparisons made, so tests can check the
	// work stays linear in the ciphertexts.
	steps int
}

// recoverKeystream works out as much keystream as it can from ciphertexts
// that all used it. For NUL-padded plaintexts, the most common ciphertext
// byte at a position is most likely keystream XOR 0: a majority vote.
// Then each crib is taken as the start of a message (or, in the original
// program's frames, of a name or a text field) in each ciphertext in
// turn; a placement is kept when it agrees with what is known and turns
// every other ciphertext there into text. The work is linear in the
// ciphertexts: each position a crib reaches is tallied once over all of
// them, and each placement then only looks the tally up.
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
					k.steps++
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
	m := misfits{cts: cts, padded: padded, at: map[int]*[256]int{}}
	for _, crib := range cribs {
		if len(crib) < minCrib {
			continue
		}
		for _, ct := range cts {
			for _, off := range offsets {
				if off+len(crib) > len(ct) || !k.fits(&m, ct, off, crib) {
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
	k.steps += m.steps
	return k
}

// misfits tallies, for a position and each guess of the keystream byte
// there, how many ciphertexts the guess would not turn into text.
type misfits struct {
	cts    [][]byte
	padded bool
	at     map[int]*[256]int
	steps  int
}

// textish reports whether q is a plaintext byte the guess may give.
func (m *misfits) textish(q byte) bool { return likelyText(q) || m.padded && q == 0 }

// tally returns the counts for position i, working them out on first use.
func (m *misfits) tally(i int) *[256]int {
	if c := m.at[i]; c != nil {
		return c
	}
	c := new([256]int)
	for _, ct := range m.cts {
		if i >= len(ct) {
			continue
		}
		m.steps += 256
		for guess := range 256 {
			if !m.textish(ct[i] ^ byte(guess)) {
				c[guess]++
			}
		}
	}
	m.at[i] = c
	return c
}

// fits reports whether crib at offset off of ciphertext ct is consistent
// with the known keystream and yields likely text in every other
// ciphertext.
func (k *keystream) fits(m *misfits, ct []byte, off int, crib []byte) bool {
	for j, p := range crib {
		k.steps++
		ks := ct[off+j] ^ p
		if k.known[off+j] && k.ks[off+j] != ks {
			return false
		}
		// The tally counts ct too, which the guess turns into p.
		bad := m.tally(off + j)[ks]
		if !m.textish(p) {
			bad--
		}
		if bad > 0 {
			return false
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
		if g.seen < 2 || len(g.samples) < 2 {
			continue
		}
		cts := make([][]byte, len(g.samples))
		for i, s := range g.samples {
			cts[i] = s.ct
		}
		k := recoverKeystream(cts, g.padded, t.cribs)
		t.pal.paint(t.w, t.pal.warn, fmt.Sprintf("#%d IV reuse recovery (%s ↔ %s, %s)", c.id, c.client, c.server, c.proto))
		t.w.WriteByte('\n')
		t.field(fmt.Sprintf("%d %ss share IV %s under one key, so they share one keystream.", g.seen, g.what, hexString([]byte(g.key.iv))))
		if len(g.samples) < g.seen {
			t.field(fmt.Sprintf("the first %d are kept and analysed; the rest were only counted", len(g.samples)))
		}
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
