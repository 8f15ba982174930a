package manytime

import (
	"math"
	"strings"
)

// Limits of the search for names in the texts.
const (
	// minNameWord is the shortest word tried as a name: shorter ones fit
	// a name field by chance.
	minNameWord = 3
	// maxNameWords bounds the words tried, so the work stays linear.
	maxNameWords = 256
	// commonWord is how often a word must occur in the model's corpus to
	// be taken for an ordinary word rather than a name: "the" is no one's
	// name, and would otherwise fit a short name field by chance.
	commonWord = 2
)

// isNameByte is what user names are made of.
func isNameByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-' || b == '.'
}

// namesFromTexts fills in the name field from the texts. Every frame of
// one direction carries the same name, so the name field has only as many
// different rows as there are speakers, two, too few for statistics. But
// people name each other: "hi maria". Each word of a recovered text is
// tried as the name in each row; where it is, the keystream it implies
// turns every other row into a name followed by padding, which a wrong
// word almost never does.
func (s *solver) namesFromTexts(g group) {
	var rows [][]byte
	var rowDir []Direction
	seen := map[string]bool{}
	for _, i := range g.idx {
		if k := string(s.cts[i][:nameSize]); !seen[k] {
			seen[k] = true
			rows = append(rows, s.cts[i])
			rowDir = append(rowDir, s.frames[i].Dir)
		}
	}
	if len(rows) < 2 {
		return
	}
	words := s.textWords(g)
	common := commonWords()
	type hyp struct {
		ks    [nameSize]byte
		score float64
	}
	var best, second *hyp
	for _, w := range words {
		if common[strings.ToLower(w.text)] {
			continue
		}
		for r, row := range rows {
			if rowDir[r] == w.dir {
				// People name whom they talk to, rarely themselves.
				continue
			}
			h := &hyp{}
			for i := range nameSize {
				h.ks[i] = row[i]
				if i < len(w.text) {
					h.ks[i] ^= w.text[i]
				}
			}
			ok := true
			for i := range nameSize {
				if s.grade[i] == Certain && s.ks[i] != h.ks[i] {
					ok = false
				}
			}
			for q, other := range rows {
				if q == r || !ok {
					continue
				}
				sc, fits := s.nameScore(other, h.ks[:], len(w.text))
				ok = fits
				h.score += sc
			}
			if !ok {
				continue
			}
			switch {
			case best == nil || h.score > best.score:
				if best == nil || best.ks != h.ks {
					second = best
				}
				best = h
			case best.ks != h.ks && (second == nil || h.score > second.score):
				second = h
			}
		}
	}
	if best == nil || second != nil && best.score-second.score < likelyMargin {
		return
	}
	for i := range nameSize {
		if s.grade[i] != Certain {
			s.ks[i], s.grade[i], s.guessed[i] = best.ks[i], Likely, true
		}
	}
}

// nameScore reads row under keystream ks as a name: name bytes, then NULs
// to the end of the field. It reports whether it is one, and how much
// better than chance the bytes under the word (the first n) read.
func (s *solver) nameScore(row, ks []byte, n int) (float64, bool) {
	sc := 0.0
	end := 0
	left := context(classEdge)
	for i := range nameSize {
		s.work++
		p := row[i] ^ ks[i]
		if p == 0 {
			break
		}
		if !isNameByte(p) {
			return 0, false
		}
		end++
	}
	for i := 0; i < end; i++ {
		p := row[i] ^ ks[i]
		right := context(classEdge)
		if i+1 < end {
			right = s.m.class[row[i+1]^ks[i+1]]
		}
		// Every byte is scored, so that a guess that joins badly onto
		// the part the padding showed scores badly; only those under
		// the word are counted against chance.
		sc += s.m.score(p, left, right)
		if i < n {
			sc += chance
		}
		left = s.m.class[p]
	}
	for i := end; i < nameSize; i++ {
		if row[i] != ks[i] {
			return 0, false
		}
		if i < n {
			sc += chance
		}
	}
	return sc, end > 0
}

// chance is log(256): what a byte matched exactly is worth, against a
// random one.
var chance = math.Log(256)

// commonWords returns the words the corpus uses at least commonWord
// times.
func commonWords() map[string]bool {
	n := map[string]int{}
	for _, w := range strings.FieldsFunc(corpus, func(r rune) bool { return r > 0x7f || !isNameByte(byte(r)) || r == '.' }) {
		n[strings.ToLower(w)]++
	}
	out := map[string]bool{}
	for w, k := range n {
		if k >= commonWord {
			out[w] = true
		}
	}
	return out
}

// word is a word of a recovered text, and which way the text went.
type word struct {
	text string
	dir  Direction
}

// textWords returns the words of the recovered texts of g, each once per
// direction.
func (s *solver) textWords(g group) []word {
	var words []word
	seen := map[word]bool{}
	for _, i := range g.idx {
		ct := s.cts[i]
		dir := s.frames[i].Dir
		var w []byte
		flush := func() {
			for _, t := range []string{string(w), strings.ToLower(string(w))} {
				k := word{t, dir}
				if len(t) >= minNameWord && len(t) <= nameSize && !seen[k] && len(words) < maxNameWords {
					seen[k] = true
					words = append(words, k)
				}
			}
			w = w[:0]
		}
		for j := nameSize; j < len(ct); j++ {
			s.work++
			p := ct[j] ^ s.ks[j]
			if s.grade[j] != Unknown && isNameByte(p) && p != '.' {
				w = append(w, p)
				continue
			}
			flush()
		}
		flush()
	}
	return words
}
