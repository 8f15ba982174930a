package manytime_test

import (
	"bytes"
	"crypto/rand"
	"testing"

	"chatlab/protocol"
	"chatlab/protocol/weak"
	"chatlab/sniff/manytime"
)

// checkBounds checks what Solve must hold for any input.
func checkBounds(t *testing.T, in manytime.Input, res manytime.Result) {
	t.Helper()
	kept := min(len(in.Frames), manytime.MaxFrames)
	if len(res.Frames) != kept || res.Dropped != len(in.Frames)-kept {
		t.Fatalf("%d frames in, %d analysed and %d dropped", len(in.Frames), len(res.Frames), res.Dropped)
	}
	for i, r := range res.Frames {
		n := min(len(in.Frames[i].Ciphertext), manytime.MaxLength)
		if len(r.Plain) != n || len(r.Grade) != n {
			t.Fatalf("frame %d: %d bytes in, %d out", i, n, len(r.Plain))
		}
		for _, f := range r.Fields {
			if f.Start < 0 || f.End < f.Start || f.End > n {
				t.Fatalf("frame %d: field %+v outside its %d bytes", i, f, n)
			}
		}
		for j, g := range r.Grade {
			if g == manytime.Unknown && r.Plain[j] != 0 {
				t.Fatalf("frame %d byte %d: unknown but shown as %#x", i, j, r.Plain[j])
			}
		}
	}
}

func FuzzSolve(f *testing.F) {
	for _, name := range []string{"picnic", "server", "trip"} {
		c := loadConversation(f, name)
		var all []byte
		for _, fr := range c.frames[:3] {
			all = append(all, fr.Ciphertext...)
		}
		f.Add(all, uint8(1), []byte{0, 20, 255}, "maria")
	}
	f.Add([]byte("hello"), uint8(0), []byte{2, 3}, "he")
	f.Fuzz(func(t *testing.T, data []byte, layout uint8, cuts []byte, crib string) {
		// cuts split data into frames of any length.
		var frames []manytime.Frame
		rest := data
		for i, c := range cuts {
			n := min(int(c), len(rest))
			if layout&1 == 1 && c > 250 {
				n = min(256, len(rest))
			}
			frames = append(frames, manytime.Frame{N: i + 1, Dir: manytime.Direction(i % 2), Ciphertext: rest[:n]})
			rest = rest[n:]
		}
		frames = append(frames, manytime.Frame{N: len(cuts) + 1, Ciphertext: rest})
		in := manytime.Input{Layout: manytime.Layout(layout & 1), Frames: frames, Cribs: []string{crib}}
		checkBounds(t, in, manytime.Solve(in))
	})
}

// TestCaps gives Solve more and longer frames than it analyses.
func TestCaps(t *testing.T) {
	frames := make([]manytime.Frame, manytime.MaxFrames+5)
	for i := range frames {
		ct := make([]byte, manytime.MaxLength+100)
		rand.Read(ct)
		frames[i] = manytime.Frame{N: i + 1, Ciphertext: ct}
	}
	in := manytime.Input{Frames: frames}
	res := manytime.Solve(in)
	checkBounds(t, in, res)
	if res.Dropped != 5 {
		t.Fatalf("dropped %d, want 5", res.Dropped)
	}
}

// TestLinear checks that the work grows linearly with the frames kept:
// eight times the frames cost at most about eight times the steps.
func TestLinear(t *testing.T) {
	c := loadConversation(t, "trip")
	work := func(n int) int {
		var frames []manytime.Frame
		for i := range n {
			ct := bytes.Clone(c.frames[i%len(c.frames)].Ciphertext)
			// Distinct texts of the same shape: change one text byte.
			ct[20+i%10] ^= byte(1 + i/len(c.frames))
			frames = append(frames, manytime.Frame{N: i + 1, Dir: c.frames[i%len(c.frames)].Dir, Ciphertext: ct})
		}
		return manytime.Solve(manytime.Input{Layout: manytime.Original, Frames: frames, Cribs: []string{"the train"}}).Work
	}
	small, big := work(8), work(64)
	t.Logf("work for 8 frames %d, for 64 frames %d (ratio %.2f)", small, big, float64(big)/float64(small))
	if big > 9*small {
		t.Errorf("64 frames took %d steps, 8 took %d: more than linear", big, small)
	}
	if more := work(64 + 64); more > big+big/8 {
		t.Errorf("frames past MaxFrames cost work: %d steps, %d without them", more, big)
	}
}

// TestWeakSuite measures the solver on chatlab's weak fixed-IV suite:
// alice's records of each conversation under one key, with no padding.
// There is less to go on, so it recovers less; the test holds it to
// what it measured and reports the numbers.
func TestWeakSuite(t *testing.T) {
	key := make([]byte, protocol.SessionKeySize)
	rand.Read(key)
	rc, err := weak.FixedIVGCM().New(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"picnic", "server", "trip"} {
		c := loadConversation(t, name)
		var frames []manytime.Frame
		var want [][]byte
		for i, l := range c.script.Lines {
			body := rc.Seal(nil, uint64(i+1), []byte{0x17, 0, 0, 0, 0}, []byte(l.Text))
			ct := body[protocol.NonceSize : len(body)-protocol.TagSize]
			frames = append(frames, manytime.Frame{N: i + 1, Ciphertext: ct})
			want = append(want, []byte(l.Text))
		}
		res := manytime.Solve(manytime.Input{Layout: manytime.Unpadded, Frames: frames})
		sc := measure(res, want, func(int, int) bool { return true })
		t.Logf("weak fixed-iv, %s, %d records: %v", name, len(frames), sc)
		if float64(sc.likelyWrong) > 0.10*float64(max(sc.likely, 1)) {
			t.Errorf("%s: too many likely bytes wrong: %v", name, sc)
		}
	}
}
