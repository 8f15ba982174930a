package sniff

import (
	"fmt"
	"strconv"
	"strings"

	"chatlab/protocol/legacy"
	"chatlab/sniff/event"
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
			t.note(event.WarnIVReuse, fmt.Sprintf("IV reuse: %s %d has the IV of %s %d under the same key. "+
				"The two share a keystream: XOR of the ciphertexts is XOR of the plaintexts.", what, c.records, what, first))
		} else {
			t.note(event.WarnIVReuse, fmt.Sprintf("IV reuse again: %d %ss so far under this IV and key", g.seen+1, what))
		}
		t.unit.Warnings[len(t.unit.Warnings)-1].Ref = first
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

// minCrib is the shortest crib tried. Shorter ones fit by chance.
const minCrib = 3

// minWitnesses is how many other ciphertexts must reach every byte of a
// crib's placement. Only they can show the placement wrong: with none, any
// guess "fits".
const minWitnesses = 1

// maxListed is how many record numbers a crib's report names before it
// only counts the rest.
const maxListed = 6

// keystream is what a passive eavesdropper learns of one shared keystream.
type keystream struct {
	ks    []byte
	known []bool
	// voted and cribbed count the bytes known from the majority vote and
	// from cribs. A crib's bytes are only a guess: right if the crib is
	// really where it was placed.
	voted, cribbed int
	// cribbedAt marks the positions a crib gave.
	cribbedAt []bool
	cribs     []cribUse
	// steps counts the byte comparisons made, so tests can check the
	// work stays linear in the ciphertexts.
	steps int
}

// cribUse is what became of one crib.
type cribUse struct {
	text  []byte
	short bool // under minCrib bytes: not tried
	// at is every placement where the crib fits: it agrees with what is
	// known, and turns every other ciphertext there into text.
	at []placement
	// conflict is set when two placements imply different keystream bytes
	// at one position. At most one of them is right and nothing tells
	// which, so none is used.
	conflict bool
}

// used reports whether the crib's keystream was taken.
func (u *cribUse) used() bool { return len(u.at) > 0 && !u.conflict }

// placement is a crib at offset off of ciphertext number ct.
type placement struct{ ct, off int }

// recoverKeystream works out as much keystream as it can from ciphertexts
// that all used it. For NUL-padded plaintexts, the most common ciphertext
// byte at a position is most likely keystream XOR 0: a majority vote.
// Then each crib is taken as the start of a message (or, in the original
// program's frames, of a name or a text field) in each ciphertext in
// turn. A placement fits when it agrees with what is known and turns every
// other ciphertext there into text; a crib is used only when all the
// placements that fit agree on the keystream. Two ciphertexts alone never
// settle a crib: placed in either, it turns the other into the same text.
// The work is linear in the ciphertexts: each position a crib reaches is
// tallied once over all of them, and each placement then only looks the
// tally up.
func recoverKeystream(cts [][]byte, padded bool, cribs [][]byte) keystream {
	n := 0
	for _, ct := range cts {
		n = max(n, len(ct))
	}
	k := keystream{ks: make([]byte, n), known: make([]bool, n), cribbedAt: make([]bool, n)}
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
	m := misfits{cts: cts, padded: padded, at: map[int]*column{}}
	// implied holds, while one crib is checked, 1 + the keystream byte its
	// placements imply at each position, or 0.
	implied := make([]int, n)
	for _, crib := range cribs {
		u := cribUse{text: crib, short: len(crib) < minCrib}
		if u.short {
			k.cribs = append(k.cribs, u)
			continue
		}
		for i, ct := range cts {
			for _, off := range offsets {
				if off+len(crib) <= len(ct) && k.fits(&m, ct, off, crib) {
					u.at = append(u.at, placement{i, off})
				}
			}
		}
		for _, p := range u.at {
			for j, c := range crib {
				ks := int(cts[p.ct][p.off+j]^c) + 1
				if w := implied[p.off+j]; w != 0 && w != ks {
					u.conflict = true
				}
				implied[p.off+j] = ks
			}
		}
		for _, p := range u.at {
			clear(implied[p.off : p.off+len(crib)])
		}
		if u.used() {
			for _, p := range u.at {
				for j, c := range crib {
					i := p.off + j
					if !k.known[i] {
						k.known[i] = true
						k.cribbed++
					}
					k.cribbedAt[i] = true
					k.ks[i] = cts[p.ct][i] ^ c
				}
			}
		}
		k.cribs = append(k.cribs, u)
	}
	k.steps += m.steps
	return k
}

// misfits tallies, for a position and each guess of the keystream byte
// there, how many ciphertexts the guess would not turn into text.
type misfits struct {
	cts    [][]byte
	padded bool
	at     map[int]*column
	steps  int
}

// column is the tally for one position.
type column struct {
	misfit [256]int // by keystream guess: ciphertexts it turns into non-text
	cover  int      // ciphertexts that reach the position
}

// textish reports whether q is a plaintext byte the guess may give.
func (m *misfits) textish(q byte) bool { return likelyText(q) || m.padded && q == 0 }

// column returns the tally for position i, working it out on first use.
func (m *misfits) column(i int) *column {
	if c := m.at[i]; c != nil {
		return c
	}
	c := new(column)
	for _, ct := range m.cts {
		if i >= len(ct) {
			continue
		}
		c.cover++
		m.steps += 256
		for guess := range 256 {
			if !m.textish(ct[i] ^ byte(guess)) {
				c.misfit[guess]++
			}
		}
	}
	m.at[i] = c
	return c
}

// fits reports whether crib at offset off of ciphertext ct is consistent
// with the known keystream and yields likely text in every other
// ciphertext, of which at least minWitnesses reach each of its bytes.
func (k *keystream) fits(m *misfits, ct []byte, off int, crib []byte) bool {
	for j, p := range crib {
		k.steps++
		ks := ct[off+j] ^ p
		if k.known[off+j] && k.ks[off+j] != ks {
			return false
		}
		// The column counts ct too, which the guess turns into p and
		// which is no witness for itself.
		col := m.column(off + j)
		bad := col.misfit[ks]
		if !m.textish(p) {
			bad--
		}
		if bad > 0 || col.cover-1 < minWitnesses {
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

// cribsBehind returns the used cribs whose keystream reaches into a
// ciphertext of length n: what it shows is right only if they are.
func (k *keystream) cribsBehind(n int) []string {
	var out []string
	for _, u := range k.cribs {
		if !u.used() {
			continue
		}
		for _, p := range u.at {
			if p.off < n {
				out = append(out, quote(string(u.text)))
				break
			}
		}
	}
	return out
}

// grades says how sure each byte of a plaintext is: known by the vote,
// guessed from a crib, or unknown.
func (k *keystream) grades(ct []byte) ([]byte, []event.Grade) {
	p := make([]byte, len(ct))
	g := make([]event.Grade, len(ct))
	for i, c := range ct {
		switch {
		case !k.known[i]:
		case k.cribbedAt[i]:
			p[i], g[i] = c^k.ks[i], event.Guessed
		default:
			p[i], g[i] = c^k.ks[i], event.Likely
		}
	}
	return p, g
}

// recoverReuse sends, for every IV used more than once under one key,
// what an eavesdropper reads without the key. Each group is one key: in
// chatlab, one direction, so a crib is never carried to the other one.
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
		r := event.Recovery{
			Conn: &c.ev, What: g.what, IV: []byte(g.key.iv), Seen: g.seen, Kept: len(g.samples),
			Padded: g.padded, Keystream: len(k.ks), Known: k.voted + k.cribbed,
		}
		if g.padded {
			r.NameLen = legacy.NameSize
		}
		how := fmt.Sprintf("keystream known for %d of %s", k.voted+k.cribbed, plural(len(k.ks), "byte"))
		if g.padded {
			how += fmt.Sprintf(": %d by a majority vote over the NUL padding", k.voted)
		}
		if len(t.cribs) > 0 {
			how += fmt.Sprintf(", %d guessed from cribs", k.cribbed)
		} else {
			how += " (add --crib TEXT with a guessed plaintext to learn more)"
		}
		r.Says = append(r.Says, how)
		for _, u := range k.cribs {
			r.Says = append(r.Says, cribReport(&u, g))
		}
		for _, s := range g.samples {
			p, grades := k.grades(s.ct)
			u := event.Recovered{Number: s.n, Dir: event.Dir(s.dir), Plain: p, Grades: grades}
			if cribs := k.cribsBehind(len(s.ct)); len(cribs) == 1 {
				u.If = "the crib " + cribs[0] + " is right"
			} else if len(cribs) > 1 {
				u.If = "the cribs " + andList(cribs) + " are right"
			}
			r.Units = append(r.Units, u)
		}
		t.sink.Emit(&r)
	}
}

// cribReport says where a crib fits in a group, and whether it was used.
func cribReport(u *cribUse, g *ivGroup) string {
	s := "crib " + quote(string(u.text))
	switch {
	case u.short:
		return s + fmt.Sprintf(" is shorter than %d bytes: too likely to fit by chance, not tried", minCrib)
	case len(u.at) == 0:
		return s + fmt.Sprintf(" fits nowhere: no placement turns the other %ss into text", g.what)
	}
	// Placements that imply the same keystream are one reading; a crib
	// that disagrees with itself has more than one.
	var readings []string
	byKey := map[string][]placement{}
	for _, p := range u.at {
		ct := g.samples[p.ct].ct
		key := strconv.Itoa(p.off) + ":" + string(xorBytes(ct[p.off:p.off+len(u.text)], u.text))
		if _, ok := byKey[key]; !ok {
			readings = append(readings, key)
		}
		byKey[key] = append(byKey[key], p)
	}
	var where []string
	for _, key := range readings {
		where = append(where, placesIn(byKey[key], g))
	}
	if u.conflict {
		return s + " fits " + strings.Join(where, ", or ") + ": only one can be right and nothing tells which, so it is not used"
	}
	return s + " fits " + strings.Join(where, " and ") + fmt.Sprintf(", where it turns every other %s into text: used, as a guess", g.what)
}

// placesIn describes placements that share an offset, or several, as
// "at the start of records 3 and 5".
func placesIn(ps []placement, g *ivGroup) string {
	var offs []int
	byOff := map[int][]int{}
	for _, p := range ps {
		if _, ok := byOff[p.off]; !ok {
			offs = append(offs, p.off)
		}
		byOff[p.off] = append(byOff[p.off], g.samples[p.ct].n)
	}
	var where []string
	for _, off := range offs {
		ns := byOff[off]
		what := g.what
		if len(ns) > 1 {
			what += "s"
		}
		lead := "at the start of "
		switch {
		case g.padded && off == 0:
			lead = "as the name in "
		case g.padded && off == legacy.NameSize:
			lead = "at the start of the text in "
		}
		where = append(where, lead+what+" "+numberList(ns))
	}
	return strings.Join(where, " and ")
}

// xorBytes returns a XOR b, over the length of a.
func xorBytes(a, b []byte) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i]
	}
	return out
}

// numberList writes record numbers as "3", "3 and 5" or "1, 2, 3 and
// 61 more", naming at most maxListed.
func numberList(ns []int) string {
	var s []string
	for i, n := range ns {
		if i == maxListed && len(ns) > maxListed+1 {
			s = append(s, fmt.Sprintf("%d more", len(ns)-maxListed))
			break
		}
		s = append(s, strconv.Itoa(n))
	}
	return andList(s)
}

// andList joins "a", "b" and "c" as "a, b and c".
func andList(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
