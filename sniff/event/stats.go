package event

import "math"

// Entropy is the Shannon entropy of a byte histogram in bits per byte:
// near 8 for a large sample of ciphertext, about 4 to 5 for English text.
// A sample of n bytes can show at most log2(n) bits, so a few dozen bytes
// of ciphertext look far less random than they are: see MaxEntropy.
func Entropy(hist *[256]uint64) float64 {
	if hist == nil {
		return 0
	}
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

// MaxEntropy is the most entropy a sample of n bytes can show: log2(n)
// while n is under 256, when not every byte value can appear, then 8.
func MaxEntropy(n int) float64 {
	if n <= 1 {
		return 0
	}
	return min(math.Log2(float64(n)), 8)
}

// RandomEntropy is the entropy that n uniformly random bytes show on
// average: 8 bits per byte only for large n, since a small sample cannot
// hold every byte value equally often (256 random bytes show about 7.2).
// It is the plug-in entropy's expectation, each value's count being
// binomial: exact, not simulated.
func RandomEntropy(n int) float64 {
	if n <= 1 {
		return 0
	}
	const p = 1.0 / 256
	// P(count = k), from k = 0 upwards, in logs to stay finite for large
	// n; terms past a few hundred standard deviations add nothing.
	logP := float64(n) * math.Log1p(-p)
	sum := 0.0
	limit := min(n, 256+int(40*math.Sqrt(float64(n))+float64(n)/64))
	for k := 1; k <= limit; k++ {
		logP += math.Log(float64(n-k+1)/float64(k)) + math.Log(p/(1-p))
		q := float64(k) / float64(n)
		sum += math.Exp(logP) * q * math.Log2(q)
	}
	return -256 * sum
}

// Printable is the share of a histogram's bytes that are printable ASCII
// or line breaks.
func Printable(hist *[256]uint64) float64 {
	if hist == nil {
		return 0
	}
	var total, printable uint64
	for b, n := range hist {
		total += n
		if printableByte(byte(b)) {
			printable += n
		}
	}
	if total == 0 {
		return 0
	}
	return float64(printable) / float64(total)
}

func printableByte(b byte) bool {
	return b >= 0x20 && b < 0x7f || b == '\n' || b == '\r' || b == '\t'
}
