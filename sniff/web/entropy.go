package web

import "math"

// entropy is the Shannon entropy of a byte histogram in bits per byte,
// as the terminal's statistics compute it.
func entropy(hist *[256]uint64) float64 {
	var total uint64
	for _, n := range hist {
		total += n
	}
	if total == 0 {
		return 0
	}
	h := 0.0
	for _, n := range hist {
		if n > 0 {
			p := float64(n) / float64(total)
			h -= p * math.Log2(p)
		}
	}
	return h
}
