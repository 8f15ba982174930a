package manytime

import (
	"bytes"
	"fmt"
	"math"
)

// Thresholds of the statistics, as log-probability margins (nats) of the
// best reading over the next best.
const (
	// likelyMargin is how far ahead the best reading of a position must
	// be to be shown as likely: about 20 to 1.
	likelyMargin = 3.0
	// minCertainRows is how many different texts must be padding at a
	// position, with no other group of them agreeing there, for its
	// keystream byte to be certain.
	minCertainRows = 3
	// refinePasses is how often the columns where every text has a
	// letter are scored again with both neighbours known.
	refinePasses = 3
)

// endOdds are the log odds, at a position where a text is padding one
// byte later, that it ends there rather than being padding here too.
var endOdds = struct{ end, stay float64 }{math.Log(0.08), math.Log(0.92)}

// group is frames that share one keystream: all of them for the Original
// layout (unless its two directions turn out to have used two keys), all
// of them for Unpadded.
type group struct {
	idx []int // indexes into solver.cts
}

// solver holds one Solve's state.
type solver struct {
	m      *model
	layout Layout
	cts    [][]byte
	frames []Frame
	ks     []byte
	grade  []Grade
	// guessed marks the positions whose keystream byte has a reading,
	// even an unknown one: neighbours use it as context.
	guessed []bool
	work    int
	notes   []string
}

// Solve recovers what the frames say from the reused keystream alone.
func Solve(in Input) Result {
	frames := in.Frames
	res := Result{Layout: in.Layout}
	if len(frames) > MaxFrames {
		res.Dropped = len(frames) - MaxFrames
		frames = frames[:MaxFrames]
	}
	s := &solver{m: newModel(), layout: in.Layout, frames: frames}
	n := 0
	for _, f := range frames {
		ct := f.Ciphertext
		if len(ct) > MaxLength {
			ct = ct[:MaxLength]
		}
		s.cts = append(s.cts, ct)
		n = max(n, len(ct))
	}
	// One keystream per group; each group fills its own copy, and the
	// frames read theirs.
	var perFrameKS [][]byte
	var perFrameGrade [][]Grade
	perFrameKS = make([][]byte, len(frames))
	perFrameGrade = make([][]Grade, len(frames))
	for _, g := range s.groups() {
		s.ks, s.grade, s.guessed = make([]byte, n), make([]Grade, n), make([]bool, n)
		s.solveGroup(g)
		for _, c := range in.Cribs {
			res.Cribs = append(res.Cribs, s.crib(g, c))
		}
		for _, i := range g.idx {
			perFrameKS[i], perFrameGrade[i] = s.ks, s.grade
		}
	}
	for i, f := range frames {
		r := Recovered{N: f.N, Dir: f.Dir, Plain: make([]byte, len(s.cts[i])), Grade: make([]Grade, len(s.cts[i]))}
		if ks := perFrameKS[i]; ks != nil {
			for j, c := range s.cts[i] {
				if perFrameGrade[i][j] != Unknown {
					r.Plain[j], r.Grade[j] = c^ks[j], perFrameGrade[i][j]
				}
			}
		}
		r.Fields = s.fields(r)
		for _, fl := range r.Fields {
			for _, g := range r.Grade[fl.Start:fl.End] {
				switch g {
				case Certain:
					res.Certain++
				case Likely:
					res.Likely++
				default:
					res.Unknown++
				}
			}
		}
		res.Frames = append(res.Frames, r)
	}
	res.Leaks = s.leaks()
	res.Notes = s.notes
	if res.Dropped > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("the first %d frames were analysed; %d more were only counted", MaxFrames, res.Dropped))
	}
	res.Work = s.work
	return res
}

// groups splits the frames by keystream. For the Original layout, frames
// that are not 256 bytes are left out, and the two directions are split
// when their padding shows two keys: the original client wraps its key
// with strlen(), so a key with a zero byte reaches the server cut short.
func (s *solver) groups() []group {
	if s.layout != Original {
		all := group{}
		for i := range s.cts {
			all.idx = append(all.idx, i)
		}
		return []group{all}
	}
	var byDir [2]group
	for i, ct := range s.cts {
		if len(ct) != fullSize {
			s.notes = append(s.notes, fmt.Sprintf("frame %d is %d bytes, not %d: it is not the original program's and is left out", s.frames[i].N, len(ct), fullSize))
			continue
		}
		d := s.frames[i].Dir & 1
		byDir[d].idx = append(byDir[d].idx, i)
	}
	if len(byDir[0].idx) == 0 || len(byDir[1].idx) == 0 {
		return []group{{idx: append(byDir[0].idx, byDir[1].idx...)}}
	}
	// Nearly every text ends long before its field does, so each
	// direction's frames agree on their last bytes: the keystream there.
	// Two directions that agree within but not across used two keys.
	a, aok := s.commonTail(byDir[0].idx)
	b, bok := s.commonTail(byDir[1].idx)
	if aok && bok && a != b {
		s.notes = append(s.notes, "the two directions were encrypted under different keys (the original client sends its binary key through strlen(), and a zero byte cuts it short): each direction is recovered on its own")
		return byDir[:]
	}
	all := append(append([]int(nil), byDir[0].idx...), byDir[1].idx...)
	return []group{{idx: all}}
}

// tailBytes is how many last bytes commonTail compares.
const tailBytes = 8

// commonTail returns the last tailBytes bytes the frames share, if they
// all share them.
func (s *solver) commonTail(idx []int) (string, bool) {
	first := s.cts[idx[0]][fullSize-tailBytes:]
	for _, i := range idx[1:] {
		s.work += tailBytes
		if !bytes.Equal(s.cts[i][fullSize-tailBytes:], first) {
			return "", false
		}
	}
	return string(first), true
}

// solveGroup works out the keystream of one group.
func (s *solver) solveGroup(g group) {
	if s.layout == Original {
		s.solveField(s.distinct(g.idx, 0, nameSize), 0, nameSize, true)
		s.solveField(s.distinct(g.idx, nameSize, fullSize), nameSize, fullSize, true)
		s.namesFromTexts(g)
		return
	}
	n := 0
	for _, i := range g.idx {
		n = max(n, len(s.cts[i]))
	}
	s.solveField(s.distinct(g.idx, 0, n), 0, n, false)
}

// distinct returns the ciphertexts of idx over [a,b), each once: equal
// ciphertexts under one keystream are equal plaintexts, and counting one
// text twice would make the statistics overconfident.
func (s *solver) distinct(idx []int, a, b int) [][]byte {
	var rows [][]byte
	seen := map[string]bool{}
	for _, i := range idx {
		ct := s.cts[i]
		if len(ct) <= a {
			continue
		}
		k := string(ct[a:min(b, len(ct))])
		s.work += len(k)
		if !seen[k] {
			seen[k] = true
			rows = append(rows, ct)
		}
	}
	return rows
}
