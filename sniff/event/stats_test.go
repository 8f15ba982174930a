package event

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"testing"
)

// TestRandomEntropy checks the exact expectation against samples of a
// deterministic pseudo-random stream: the mean over many samples of n
// bytes lands on RandomEntropy(n).
func TestRandomEntropy(t *testing.T) {
	var ctr [8]byte
	stream := func(n int) []byte {
		var out []byte
		for len(out) < n {
			binary.BigEndian.PutUint64(ctr[:], binary.BigEndian.Uint64(ctr[:])+1)
			s := sha256.Sum256(ctr[:])
			out = append(out, s[:]...)
		}
		return out[:n]
	}
	for _, n := range []int{16, 64, 256, 1024, 4096} {
		const trials = 200
		mean := 0.0
		for range trials {
			var h [256]uint64
			for _, b := range stream(n) {
				h[b]++
			}
			mean += Entropy(&h) / trials
		}
		if got := RandomEntropy(n); math.Abs(got-mean) > 0.02 {
			t.Errorf("RandomEntropy(%d) = %.3f, samples average %.3f", n, got, mean)
		}
		if got := RandomEntropy(n); got > MaxEntropy(n) {
			t.Errorf("RandomEntropy(%d) = %.3f exceeds the most %d bytes can show, %.3f", n, got, n, MaxEntropy(n))
		}
	}
}
