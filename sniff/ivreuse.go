package sniff

import (
	"fmt"

	"chatlab/protocol/legacy"
	"chatlab/sniff/event"
	"chatlab/sniff/manytime"
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

// maxSolved bounds the ciphertext bytes a Tap hands the many-time-pad
// solver over all its connections. Each byte costs the solver a few
// hundred guesses per pass, so a capture built to repeat IVs in many
// groups would otherwise keep it busy for minutes; this is a few dozen
// full groups of the original program's frames, far more than a class
// sends, and a few seconds of work at worst.
const maxSolved = 256 << 10

// recoverReuse sends, for every IV used more than once under one key,
// what an eavesdropper reads without the key. Each group is one key: in
// chatlab, one direction, so a crib is never carried to the other one.
func (t *Tap) recoverReuse(c *conn) {
	for _, g := range c.reuse.order {
		if g.seen < 2 || len(g.samples) < 2 {
			continue
		}
		in := manytime.Input{Layout: manytime.Unpadded, Cribs: t.cfg.Cribs}
		if g.padded {
			in.Layout = manytime.Original
		}
		size := 0
		for _, s := range g.samples {
			in.Frames = append(in.Frames, manytime.Frame{N: s.n, Dir: manytime.Direction(s.dir), Ciphertext: s.ct})
			size += min(len(s.ct), manytime.MaxLength)
		}
		r := event.Recovery{
			Conn: &c.ev, What: g.what, IV: []byte(g.key.iv), Seen: g.seen, Kept: len(g.samples), Padded: g.padded,
		}
		if g.padded {
			r.NameLen = legacy.NameSize
		}
		if t.solved+size > maxSolved {
			r.Says = append(r.Says, "not analysed: this capture already used the recovery's budget of "+
				plural(maxSolved, "byte")+" of ciphertext")
			t.sink.Emit(&r)
			continue
		}
		t.solved += size
		res := manytime.Solve(in)
		r.Says = append(append(append(r.Says, res.Notes...), res.Leaks...), res.Cribs...)
		r.Certain, r.Likely, r.Unknown = res.Certain, res.Likely, res.Unknown
		for _, f := range res.Frames {
			u := event.Recovered{Number: f.N, Dir: event.Dir(f.Dir), Plain: f.Plain, Grades: make([]event.Grade, len(f.Grade))}
			for i, x := range f.Grade {
				u.Grades[i] = gradeOf(x)
				// Chat text is printable: a likely byte that is not
				// cannot be right, and is shown as unknown.
				if u.Grades[i] == event.Likely && !printableByte(f.Plain[i]) {
					u.Grades[i] = event.Unknown
				}
			}
			for _, fl := range f.Fields {
				u.Fields = append(u.Fields, event.RecoveredField{Name: fl.Name, Start: fl.Start, End: fl.End})
			}
			r.Units = append(r.Units, u)
		}
		t.sink.Emit(&r)
	}
}

// gradeOf is the event's grade for the solver's.
func gradeOf(g manytime.Grade) event.Grade {
	switch g {
	case manytime.Certain:
		return event.Certain
	case manytime.Likely:
		return event.Likely
	}
	return event.Unknown
}
