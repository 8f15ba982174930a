package bench

import (
	"fmt"
	"slices"
)

// Median combines several runs of one mode into one result whose every
// measure is the median of that measure over the runs. Alternating modes
// over several rounds and taking medians keeps a burst of noise on a
// shared machine from deciding a ratio.
func Median(runs []Result) (Result, error) {
	if len(runs) == 0 {
		return Result{}, fmt.Errorf("bench: no runs to combine")
	}
	out := runs[0]
	for _, r := range runs[1:] {
		if r.Target != out.Target || r.Mode != out.Mode || r.Clients != out.Clients || r.Size != out.Size {
			return Result{}, fmt.Errorf("bench: cannot combine %s/%d and %s/%d runs", out.Mode, out.Clients, r.Mode, r.Clients)
		}
	}
	pick := func(get func(Result) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = get(r)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	out.Rounds = len(runs)
	out.Messages = int(pick(func(r Result) float64 { return float64(r.Messages) }))
	out.Delivered = int64(pick(func(r Result) float64 { return float64(r.Delivered) }))
	out.RSADecryptP50ms = pick(func(r Result) float64 { return r.RSADecryptP50ms })
	out.Seconds = pick(func(r Result) float64 { return r.Seconds })
	out.MsgsPerSec = pick(func(r Result) float64 { return r.MsgsPerSec })
	out.MBPerSec = pick(func(r Result) float64 { return r.MBPerSec })
	out.P50ms = pick(func(r Result) float64 { return r.P50ms })
	out.P99ms = pick(func(r Result) float64 { return r.P99ms })
	out.HandshakeP50ms = pick(func(r Result) float64 { return r.HandshakeP50ms })
	out.BytesPerIdleClient = pick(func(r Result) float64 { return r.BytesPerIdleClient })
	out.RoundsMsgsPerSec = nil
	for _, r := range runs {
		out.RoundsMsgsPerSec = append(out.RoundsMsgsPerSec, r.MsgsPerSec)
	}
	if out.MsgsPerSec > 0 {
		lo, hi := slices.Min(out.RoundsMsgsPerSec), slices.Max(out.RoundsMsgsPerSec)
		out.SpreadPct = 100 * (hi - lo) / 2 / out.MsgsPerSec
	}
	return out, nil
}
