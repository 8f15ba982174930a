package manytime

import (
	"fmt"
	"slices"
	"strconv"
)

// leaks says what the ciphertexts give away by themselves: under one
// keystream, equal ciphertext bytes are equal plaintext bytes.
func (s *solver) leaks() []string {
	var out []string
	what := "message"
	lo, hi := 0, -1
	if s.layout == Original {
		what = "name and text"
		lo, hi = nameSize, fullSize
	}
	same := s.sameFrames(func(ct []byte) []byte { return ct })
	for _, ns := range same {
		out = append(out, fmt.Sprintf("frames %s carry the same %s: the ciphertexts are equal byte for byte", numberList(ns), what))
	}
	if hi > 0 {
		texts := s.sameFrames(func(ct []byte) []byte {
			if len(ct) != fullSize {
				return nil
			}
			return ct[lo:hi]
		})
		for _, ns := range texts {
			if !contains(same, ns) {
				out = append(out, fmt.Sprintf("frames %s carry the same text, from different senders: their text fields are equal byte for byte", numberList(ns)))
			}
		}
	}
	return out
}

// sameFrames groups the frames whose part (as cut by part) is equal, and
// returns the frame numbers of each group of two or more.
func (s *solver) sameFrames(part func([]byte) []byte) [][]int {
	byKey := map[string]int{}
	var groups [][]int
	for i, ct := range s.cts {
		p := part(ct)
		if p == nil {
			continue
		}
		s.work += len(p)
		k := string(p)
		g, ok := byKey[k]
		if !ok {
			g = len(groups)
			byKey[k] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], s.frames[i].N)
	}
	var out [][]int
	for _, g := range groups {
		if len(g) > 1 {
			out = append(out, g)
		}
	}
	return out
}

func contains(groups [][]int, ns []int) bool {
	for _, g := range groups {
		if slices.Equal(g, ns) {
			return true
		}
	}
	return false
}

// numberList writes frame numbers as "3", "3 and 5" or "1, 2, 3 and 61
// more", naming at most maxListed.
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

// fields cuts a recovered frame at its padding.
func (s *solver) fields(r Recovered) []Field {
	if s.layout != Original || len(r.Plain) != fullSize {
		return []Field{{Name: "message", Start: 0, End: len(r.Plain)}}
	}
	return []Field{
		{Name: "name", Start: 0, End: padStart(r, 0, nameSize)},
		{Name: "text", Start: nameSize, End: padStart(r, nameSize, fullSize)},
	}
}

// padStart returns where the padding of [a,b) starts: the first position
// from which every byte to b is recovered as NUL, or b.
func padStart(r Recovered, a, b int) int {
	p := b
	for p > a && r.Grade[p-1] != Unknown && r.Plain[p-1] == 0 {
		p--
	}
	return p
}
