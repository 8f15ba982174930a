package manytime_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"chatlab/lessons/original"
	"chatlab/sniff/manytime"
)

// needOriginal builds the real program, or skips (failing in CI) with the
// reason it cannot run here.
func needOriginal(t *testing.T) original.Programs {
	t.Helper()
	skip := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the real program must run in CI: %s", why)
		}
		t.Skip(why)
	}
	if os.Geteuid() != 0 {
		skip("not root: the real program needs a network namespace and a capture")
	}
	p, err := original.Build(context.Background(), original.FindSource(filepath.Join("..", "..")), t.TempDir())
	if errors.Is(err, original.ErrNoSource) || errors.Is(err, original.ErrNoCompiler) {
		skip(err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// maxAttempts bounds the runs of one conversation. A run is repeated only
// when the two programs disagreed on the key (the client's strlen() bug,
// about one run in sixteen), so the other side could not read it.
const maxAttempts = 3

// TestOriginalLive runs each conversation through the real program in a
// namespace, captured by chatlab's sniffer and by tcpdump, checks the two
// captures carry the same frames, and holds the recovery to its targets.
// With -update it rewrites the captures in testdata.
func TestOriginalLive(t *testing.T) {
	p := needOriginal(t)
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tcpdump must be installed in CI: %v", err)
		}
		t.Skip("tcpdump is not installed")
	}
	for _, s := range original.Conversations() {
		t.Run(s.Name, func(t *testing.T) {
			var c *original.Capture
			for attempt := 1; ; attempt++ {
				c, err = original.Run(context.Background(), original.Config{Programs: p, Tcpdump: tcpdump}, s)
				if err != nil {
					t.Fatal(err)
				}
				if c.Delivered == len(s.Lines) {
					break
				}
				t.Logf("run %d: the other side printed %d of %d lines as typed: the two keys differed", attempt, c.Delivered, len(s.Lines))
				if attempt == maxAttempts {
					t.Fatalf("%d runs in a row with differing keys", maxAttempts)
				}
			}
			ours, err := original.Frames(c.Pcap)
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := original.Frames(c.Tcpdump)
			if err != nil {
				t.Fatalf("tcpdump's capture: %v", err)
			}
			if len(ours) != len(theirs) {
				t.Fatalf("chatlab's capture has %d frames, tcpdump's %d", len(ours), len(theirs))
			}
			for i := range ours {
				if ours[i].FromClient != theirs[i].FromClient || string(ours[i].Bytes) != string(theirs[i].Bytes) {
					t.Fatalf("frame %d differs between chatlab's capture and tcpdump's", i+1)
				}
			}
			conv := conversationOf(t, s, c.Pcap)
			res := manytime.Solve(manytime.Input{Layout: manytime.Original, Frames: conv.frames})
			sc := measure(res, conv.want, originalChars(conv.want))
			t.Logf("live %s: %v", s.Name, sc)
			if sc.certainWrong > 0 {
				t.Errorf("%d bytes shown as certain are wrong", sc.certainWrong)
			}
			if float64(sc.charsRight)/float64(sc.chars) < minRecovered || float64(sc.likelyWrong)/float64(max(sc.likely, 1)) > maxLikelyWrong {
				t.Errorf("below target: %v", sc)
			}
			if *update {
				base := filepath.Join("testdata", s.Name)
				if err := os.WriteFile(base+".pcap", c.Pcap, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(base+".txt", s.MarshalText(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
