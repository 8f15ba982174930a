package attack

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// specsFile holds the specs the round-trip tests start from and the fuzz
// targets are seeded with.
const specsFile = "testdata/specs.txt"

// randomSpecs is how many random values each round-trip test formats.
const randomSpecs = 500

// seedSpecs returns the specs of kind ("flip", "edit" or "replay") in
// specsFile, valid and invalid alike.
func seedSpecs(tb testing.TB, kind string) []string {
	tb.Helper()
	data, err := os.ReadFile(specsFile)
	if err != nil {
		tb.Fatal(err)
	}
	var specs []string
	for _, line := range strings.Split(string(data), "\n") {
		k, spec, ok := strings.Cut(line, " ")
		if ok && k == kind {
			specs = append(specs, spec)
		}
	}
	if len(specs) == 0 {
		tb.Fatalf("%s has no %s specs", specsFile, kind)
	}
	return specs
}

// sameFlip compares everything but Spec, which is the text as given.
func sameFlip(a, b Flip) bool {
	return a.Record == b.Record && a.Offset == b.Offset && bytes.Equal(a.XOR, b.XOR) &&
		a.Plaintext == b.Plaintext && a.Old == b.Old && a.New == b.New
}

// checkFlipRoundTrip asserts that f's String parses back to f, with the
// canonical text as its Spec.
func checkFlipRoundTrip(t *testing.T, parse func(string) (Flip, error), f Flip) {
	t.Helper()
	s := f.String()
	g, err := parse(s)
	if err != nil {
		t.Fatalf("%+v formats as %q, which does not parse: %v", f, s, err)
	}
	if !sameFlip(f, g) || g.Spec != s || g.String() != s {
		t.Fatalf("%+v formats as %q, which parses to %+v", f, s, g)
	}
}

// checkReplayRoundTrip asserts that r's String parses back to r.
func checkReplayRoundTrip(t *testing.T, r Replay) {
	t.Helper()
	s := r.String()
	g, err := ParseReplay(s)
	if err != nil || g != r {
		t.Fatalf("%+v formats as %q, which parses to %+v, %v", r, s, g, err)
	}
}

// validSeeds parses every seed of kind and keeps what parse accepts.
func validSeeds[T any](t *testing.T, kind string, parse func(string) (T, error)) []T {
	t.Helper()
	var vs []T
	for _, s := range seedSpecs(t, kind) {
		if v, err := parse(s); err == nil {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		t.Fatalf("%s has no valid %s specs", specsFile, kind)
	}
	return vs
}

func randomFlip(rng *rand.Rand) Flip {
	mask := make([]byte, 1+rng.IntN(32))
	for i := range mask {
		mask[i] = byte(rng.Uint32())
	}
	return Flip{Record: 1 + rng.IntN(1<<20), Offset: rng.IntN(1 << 20), XOR: mask}
}

// randomEdit makes an edit of random bytes; OLD has no '=', which ends it.
func randomEdit(rng *rand.Rand) Flip {
	n := 1 + rng.IntN(32)
	old, nw := make([]byte, n), make([]byte, n)
	mask := make([]byte, n)
	for i := range n {
		old[i], nw[i] = byte(rng.Uint32()), byte(rng.Uint32())
		if old[i] == '=' {
			old[i] = ':'
		}
		mask[i] = old[i] ^ nw[i]
	}
	return Flip{Record: 1 + rng.IntN(1<<20), XOR: mask, Plaintext: true, Old: string(old), New: string(nw)}
}

func randomReplay(rng *rand.Rand) Replay {
	rec := 1 + rng.IntN(1<<20)
	after := rec
	if rng.IntN(2) == 0 {
		after += rng.IntN(1 << 20)
	}
	return Replay{Record: rec, After: after}
}

func TestFlipRoundTrip(t *testing.T) {
	for _, f := range validSeeds(t, "flip", ParseFlip) {
		checkFlipRoundTrip(t, ParseFlip, f)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range randomSpecs {
		checkFlipRoundTrip(t, ParseFlip, randomFlip(rng))
	}
}

func TestEditRoundTrip(t *testing.T) {
	for _, f := range validSeeds(t, "edit", ParseEdit) {
		checkFlipRoundTrip(t, ParseEdit, f)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range randomSpecs {
		checkFlipRoundTrip(t, ParseEdit, randomEdit(rng))
	}
}

func TestReplayRoundTrip(t *testing.T) {
	for _, r := range validSeeds(t, "replay", ParseReplay) {
		checkReplayRoundTrip(t, r)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range randomSpecs {
		checkReplayRoundTrip(t, randomReplay(rng))
	}
}

// TestFlipEveryPrefix: a strict prefix of a canonical flip spec parses
// exactly when it ends on a whole byte of the mask, to the same record
// and offset with the mask cut there, and its own text is canonical.
// Every other prefix is refused with a spec error.
func TestFlipEveryPrefix(t *testing.T) {
	flips := validSeeds(t, "flip", ParseFlip)
	rng := rand.New(rand.NewPCG(7, 8))
	for range randomSpecs {
		flips = append(flips, randomFlip(rng))
	}
	for _, f := range flips {
		s := f.String()
		head := len(fmt.Sprintf("%d:%d:", f.Record, f.Offset))
		for i := range len(s) {
			p := s[:i]
			g, err := ParseFlip(p)
			wholeBytes := i > head && (i-head)%2 == 0
			if !wholeBytes {
				if !errors.Is(err, errSpec) {
					t.Fatalf("ParseFlip(%q), a prefix of %q, = %+v, %v; want a spec error", p, s, g, err)
				}
				continue
			}
			want := Flip{Record: f.Record, Offset: f.Offset, XOR: f.XOR[:(i-head)/2]}
			if err != nil || !sameFlip(g, want) || g.String() != p {
				t.Fatalf("ParseFlip(%q), a prefix of %q, = %+v, %v; want %+v", p, s, g, err, want)
			}
		}
	}
}

// TestEditEveryPrefix: every strict prefix of a valid edit is refused.
// Cut before OLD's end, it has no '='; cut after, NEW is shorter than OLD.
func TestEditEveryPrefix(t *testing.T) {
	edits := validSeeds(t, "edit", ParseEdit)
	rng := rand.New(rand.NewPCG(9, 10))
	for range randomSpecs {
		edits = append(edits, randomEdit(rng))
	}
	for _, f := range edits {
		for _, s := range []string{f.Spec, f.String()} {
			if s == "" {
				continue
			}
			for i := range len(s) {
				if g, err := ParseEdit(s[:i]); !errors.Is(err, errSpec) {
					t.Fatalf("ParseEdit(%q), a prefix of %q, = %+v, %v; want a spec error", s[:i], s, g, err)
				}
			}
		}
	}
}

// TestReplayEveryPrefix: a strict prefix of a canonical replay spec is
// refused with a spec error, or it is itself the canonical spec of a
// different replay that comes no later: "1" of "12", "2@3" of "2@35".
func TestReplayEveryPrefix(t *testing.T) {
	replays := validSeeds(t, "replay", ParseReplay)
	rng := rand.New(rand.NewPCG(11, 12))
	for range randomSpecs {
		replays = append(replays, randomReplay(rng))
	}
	for _, r := range replays {
		s := r.String()
		for i := range len(s) {
			p := s[:i]
			g, err := ParseReplay(p)
			if err != nil {
				if !errors.Is(err, errSpec) {
					t.Fatalf("ParseReplay(%q), a prefix of %q: %v; want a spec error", p, s, err)
				}
				continue
			}
			if g == r || g.String() != p || g.Record > r.Record || g.After > r.After {
				t.Fatalf("ParseReplay(%q), a prefix of %q, = %+v: want a different, canonical, no later replay", p, s, g)
			}
		}
	}
}

// fuzzFlipParser checks what any flip parser accepts: it keeps the text
// as Spec and round-trips; what it refuses, it refuses with a spec error.
func fuzzFlipParser(t *testing.T, parse func(string) (Flip, error), s string) {
	f, err := parse(s)
	if err != nil {
		if !errors.Is(err, errSpec) {
			t.Fatalf("parse(%q): %v is not a spec error", s, err)
		}
		return
	}
	if f.Spec != s || f.Record < 1 || f.Offset < 0 || len(f.XOR) == 0 {
		t.Fatalf("parse(%q) = %+v", s, f)
	}
	checkFlipRoundTrip(t, parse, f)
}

func FuzzParseFlip(f *testing.F) {
	for _, s := range seedSpecs(f, "flip") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { fuzzFlipParser(t, ParseFlip, s) })
}

func FuzzParseEdit(f *testing.F) {
	for _, s := range seedSpecs(f, "edit") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { fuzzFlipParser(t, ParseEdit, s) })
}

func FuzzParseReplay(f *testing.F) {
	for _, s := range seedSpecs(f, "replay") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReplay(s)
		if err != nil {
			if !errors.Is(err, errSpec) {
				t.Fatalf("ParseReplay(%q): %v is not a spec error", s, err)
			}
			return
		}
		if r.Record < 1 || r.After < r.Record {
			t.Fatalf("ParseReplay(%q) = %+v", s, r)
		}
		checkReplayRoundTrip(t, r)
	})
}
