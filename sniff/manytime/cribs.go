package manytime

import (
	"fmt"
	"strings"
)

// Limits on cribs.
const (
	// minCrib is the shortest crib tried: shorter ones fit by chance.
	minCrib = 3
	// maxCrib is the longest: no text is longer than its field.
	maxCrib = textSize
)

// placement is a crib at offset off of frame index i.
type placement struct{ i, off int }

// crib tries text as a guessed plaintext in every frame of g: as the
// name, or anywhere in the text (Original), or anywhere in the message. A
// placement fits when it agrees with the certain bytes and turns every
// other frame there into text or padding; the crib is used when every
// placement that fits implies the same keystream. It returns what it did,
// in plain words.
func (s *solver) crib(g group, text string) string {
	q := fmt.Sprintf("crib %q", text)
	switch {
	case len(text) < minCrib:
		return fmt.Sprintf("%s is shorter than %d characters: it would fit somewhere by chance, so it was not tried", q, minCrib)
	case len(text) > maxCrib:
		return fmt.Sprintf("%s is longer than any message: not tried", q)
	}
	c := []byte(text)
	var fits []placement
	implied := map[int]byte{}
	conflict := false
	seen := map[string]bool{}
	for _, i := range g.idx {
		ct := s.cts[i]
		for _, off := range s.offsets(len(ct), len(c)) {
			// Frames with the same bytes there are one placement.
			key := fmt.Sprint(off, ":", string(ct[off:off+len(c)]))
			if seen[key] || !s.cribFits(g, i, off, c) {
				continue
			}
			seen[key] = true
			fits = append(fits, placement{i, off})
			for k := range c {
				v := ct[off+k] ^ c[k]
				if w, ok := implied[off+k]; ok && w != v {
					conflict = true
				}
				implied[off+k] = v
			}
		}
	}
	if len(fits) == 0 {
		return q + " fits nowhere: wherever it is put, some other frame stops reading as text"
	}
	where := s.places(fits)
	if conflict {
		return fmt.Sprintf("%s fits in places that disagree (%s): only one can be right and nothing tells which, so it was not used", q, where)
	}
	added, changed := 0, 0
	for j, v := range implied {
		switch {
		case s.grade[j] == Unknown:
			added++
		case s.ks[j] != v:
			changed++
		default:
			continue
		}
		s.ks[j], s.grade[j], s.guessed[j] = v, Likely, true
	}
	how := "it agrees with what was recovered without it"
	switch {
	case added > 0 && changed > 0:
		how = fmt.Sprintf("it gave %d bytes that were unknown and corrected %d the statistics had guessed", added, changed)
	case added > 0:
		how = fmt.Sprintf("it gave %d bytes that were unknown", added)
	case changed > 0:
		how = fmt.Sprintf("it corrected %d bytes the statistics had guessed", changed)
	}
	return fmt.Sprintf("%s fits %s, where every other frame still reads as text: %s (shown as likely: right only if the guess is)", q, where, how)
}

// offsets are where a crib of n bytes may start in a frame of size.
func (s *solver) offsets(size, n int) []int {
	var out []int
	if s.layout == Original {
		if size != fullSize {
			return nil
		}
		if n <= nameSize {
			out = append(out, 0)
		}
		for off := nameSize; off+n <= fullSize; off++ {
			out = append(out, off)
		}
		return out
	}
	for off := 0; off+n <= size; off++ {
		out = append(out, off)
	}
	return out
}

// cribFits reports whether crib c at off of frame i fits: it keeps the
// certain bytes, and at each of its bytes at least one other frame
// reaches, and every other frame reads as text (or, with padding, NUL).
func (s *solver) cribFits(g group, i, off int, c []byte) bool {
	ct := s.cts[i]
	for k, b := range c {
		j := off + k
		s.work++
		v := ct[j] ^ b
		if s.grade[j] == Certain && s.ks[j] != v {
			return false
		}
		witnesses := 0
		for _, o := range g.idx {
			other := s.cts[o]
			if o == i || j >= len(other) {
				continue
			}
			s.work++
			p := other[j] ^ v
			if !likelyText(p) && (s.layout != Original || p != 0) {
				return false
			}
			witnesses++
		}
		if witnesses == 0 {
			return false
		}
	}
	return true
}

// likelyText is what chat messages are made of. It is stricter than
// printable on purpose: a letter XORed with a wrong guess often stays
// printable, but rarely stays a letter, digit, space or punctuation.
func likelyText(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == ' ':
		return true
	}
	return strings.IndexByte(".,!?'-:;/()*@#\"_", c) >= 0
}

// places says where placements are, in plain words: "as the name in
// frames 3 and 5", "at byte 4 of the text in frame 7".
func (s *solver) places(ps []placement) string {
	var out []string
	for _, p := range ps {
		n := s.frames[p.i].N
		switch {
		case s.layout == Original && p.off == 0:
			out = append(out, fmt.Sprintf("as the name in frame %d", n))
		case s.layout == Original && p.off == nameSize:
			out = append(out, fmt.Sprintf("at the start of the text in frame %d", n))
		case s.layout == Original:
			out = append(out, fmt.Sprintf("at character %d of the text in frame %d", p.off-nameSize+1, n))
		case p.off == 0:
			out = append(out, fmt.Sprintf("at the start of frame %d", n))
		default:
			out = append(out, fmt.Sprintf("at character %d of frame %d", p.off+1, n))
		}
		if len(out) == maxListed && len(ps) > maxListed+1 {
			out = append(out, fmt.Sprintf("%d more places", len(ps)-maxListed))
			break
		}
	}
	return andList(out)
}

// maxListed is how many places or frames a report names before it counts
// the rest.
const maxListed = 6

// andList joins "a", "b" and "c" as "a, b and c".
func andList(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
