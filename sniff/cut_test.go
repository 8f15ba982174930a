package sniff

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFollowBlamesTheCutPacket cuts the secure golden capture to a snap
// length of 100 bytes with editcap and follows it: each cut packet is
// named as cut where it is, and no segment after one is said to have
// bytes missing before it.
func TestFollowBlamesTheCutPacket(t *testing.T) {
	editcap, err := exec.LookPath("editcap")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("editcap is missing; .ci/run installs it")
		}
		t.Skip("editcap (wireshark-common) is not installed")
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	if out, err := exec.Command(editcap, "-F", "pcap", "-s", "100", filepath.Join("testdata", "secure.pcap"), cut).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v\n%s", err, out)
	}
	data, err := os.ReadFile(cut)
	if err != nil {
		t.Fatal(err)
	}
	for _, follow := range []bool{true, false} {
		out, _ := runFile(t, data, Config{Follow: follow})
		if follow && !strings.Contains(out, "was cut by the snap length") {
			t.Errorf("follow: no packet said to be cut:\n%s", out)
		}
		if !follow && !strings.Contains(out, "[|tcp]") {
			t.Errorf("segments: no segment marked [|tcp]:\n%s", out)
		}
		if strings.Contains(out, "missing (not captured)") {
			t.Errorf("follow %v: a gap is blamed on a later segment:\n%s", follow, out)
		}
	}
}
