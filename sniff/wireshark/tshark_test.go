package wireshark_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"chatlab/sniff/wireshark"
)

// checkedFields are the fields compared between the Lua dissector and the
// reference, in the order they are asked of tshark.
var checkedFields = []string{
	"chatlab.line", "chatlab.kind", "chatlab.name", "chatlab.text",
	"chatlab.record", "chatlab.type", "chatlab.length",
	"chatlab.magic", "chatlab.version", "chatlab.suite", "chatlab.key_bits", "chatlab.fingerprint",
	"chatlab.wrapped_key", "chatlab.transcript",
	"chatlab.nonce", "chatlab.seq", "chatlab.counter", "chatlab.iv", "chatlab.ciphertext", "chatlab.tag", "chatlab.nonce_reused",
	"chatlab_c.pem", "chatlab_c.key_bits", "chatlab_c.fingerprint", "chatlab_c.wrapped_key",
	"chatlab_c.frame", "chatlab_c.iv", "chatlab_c.ciphertext", "chatlab_c.iv_reused",
}

// expertField stands for the security warnings among _ws.expert.message,
// each cut to its first two clauses ("IV reuse: same IV as frame 1").
const expertField = "expert"

// aggregator separates the values of a field that occurs more than once
// in a packet; no text in the captures holds it.
const aggregator = "\x1f"

// needTshark returns the tshark to run, skipping the test when there is
// none (failing in CI, which installs it).
func needTshark(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark is not installed; CI installs it with the tshark package")
		}
		t.Skip("tshark is not installed (apt install tshark)")
	}
	return path
}

// pluginFile writes the embedded plugin where tshark can load it.
func pluginFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), wireshark.FileName)
	if err := os.WriteFile(path, wireshark.Plugin(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tshark runs tshark with the plugin on a capture and returns its
// standard output; anything on its standard error other than the note
// about running as root (a Lua error, say) fails the test.
func tshark(t *testing.T, plugin, capture string, args ...string) string {
	t.Helper()
	cmd := exec.Command(needTshark(t), append([]string{"-X", "lua_script:" + plugin, "-r", capture}, args...)...)
	// No personal or global preferences may change what is dissected.
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "WIRESHARK_CONFIG_DIR="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark %v: %v\n%s", args, err, errb.String())
	}
	for _, l := range strings.Split(strings.TrimSpace(errb.String()), "\n") {
		if l != "" && !strings.Contains(l, "Running as user") && !strings.Contains(l, "This could be dangerous") {
			t.Fatalf("tshark on %s said: %s", capture, errb.String())
		}
	}
	return out.String()
}

// luaUnits asks tshark for every checked field of every packet.
// Extra arguments go before the rest, -2 for a two-pass run say.
func luaUnits(t *testing.T, plugin, capture string, extra ...string) map[int]map[string][]string {
	t.Helper()
	args := append(append([]string(nil), extra...), "-T", "fields", "-E", "occurrence=a", "-E", "aggregator="+aggregator, "-e", "frame.number")
	for _, f := range checkedFields {
		args = append(args, "-e", f)
	}
	args = append(args, "-e", "_ws.expert.message")
	out := tshark(t, plugin, capture, args...)
	got := map[int]map[string][]string{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		cols := strings.Split(line, "\t")
		if len(cols) != len(checkedFields)+2 {
			t.Fatalf("tshark printed %d columns, want %d: %q", len(cols), len(checkedFields)+2, line)
		}
		frame, err := strconv.Atoi(cols[0])
		if err != nil {
			t.Fatalf("frame number %q", cols[0])
		}
		fields := map[string][]string{}
		for i, name := range checkedFields {
			if v := cols[i+1]; v != "" {
				fields[name] = strings.Split(v, aggregator)
			}
		}
		if v := cols[len(cols)-1]; v != "" {
			for _, msg := range strings.Split(v, aggregator) {
				if strings.HasPrefix(msg, "Lua Error") {
					t.Errorf("%s: packet %d: %s", filepath.Base(capture), frame, msg)
				}
				if strings.HasPrefix(msg, "IV reuse") || strings.HasPrefix(msg, "Nonce reuse") {
					parts := strings.SplitN(msg, ": ", 3)
					fields[expertField] = append(fields[expertField], strings.Join(parts[:min(2, len(parts))], ": "))
				}
			}
		}
		if len(fields) > 0 {
			got[frame] = fields
		}
	}
	return got
}

// compareUnits checks that each packet carries, field by field, the
// values of the units the reference puts in it, in order. A field a unit
// lacks is simply absent, as in tshark's output, so the k-th value of a
// field in a packet belongs to the k-th unit there that has the field.
// It returns how many values were compared for each field.
func compareUnits(t *testing.T, capture string, want []unit, got map[int]map[string][]string) map[string]int {
	t.Helper()
	expect := map[int]map[string][]string{}
	for _, u := range want {
		if expect[u.frame] == nil {
			expect[u.frame] = map[string][]string{}
		}
		for k, v := range u.fields {
			expect[u.frame][k] = append(expect[u.frame][k], v)
		}
	}
	compared := map[string]int{}
	var frames []int
	for f := range expect {
		frames = append(frames, f)
	}
	for f := range got {
		if expect[f] == nil {
			frames = append(frames, f)
		}
	}
	sort.Ints(frames)
	for _, frame := range frames {
		names := map[string]bool{}
		for k := range expect[frame] {
			names[k] = true
		}
		for k := range got[frame] {
			names[k] = true
		}
		for name := range names {
			w, g := expect[frame][name], got[frame][name]
			if strings.Join(w, aggregator) != strings.Join(g, aggregator) {
				t.Errorf("%s: packet %d: %s is %s, the reference says %s",
					filepath.Base(capture), frame, name, show(g), show(w))
				continue
			}
			compared[name] += len(w)
		}
	}
	return compared
}

func show(vs []string) string {
	if len(vs) == 0 {
		return "absent"
	}
	var q []string
	for _, v := range vs {
		if len(v) > 60 {
			v = v[:60] + "…"
		}
		q = append(q, strconv.Quote(v))
	}
	return strings.Join(q, ", ")
}

// goldenCaptures are sniff's golden captures and this package's own.
var goldenCaptures = []string{
	"../testdata/plain.pcap", "../testdata/secure.pcap", "../testdata/weak.pcap", "../testdata/legacy.pcap",
	"testdata/split.pcap", "testdata/coalesced.pcap",
}

// TestDissectorMatchesReference runs the Lua dissector on every capture
// and checks it finds the units the reference finds, with the same
// fields, in the same packets.
func TestDissectorMatchesReference(t *testing.T) {
	needTshark(t)
	plugin := pluginFile(t)
	total := map[string]int{}
	for _, capture := range goldenCaptures {
		t.Run(strings.TrimSuffix(filepath.Base(capture), ".pcap"), func(t *testing.T) {
			want := referenceUnits(t, capture)
			if len(want) == 0 {
				t.Fatal("the reference found nothing")
			}
			for k, n := range compareUnits(t, capture, want, luaUnits(t, plugin, capture)) {
				total[k] += n
			}
		})
	}
	// Every checked field was seen somewhere: a field the dissector has
	// stopped producing cannot pass by being absent on both sides.
	for _, f := range append(checkedFields, expertField) {
		if total[f] == 0 {
			t.Errorf("no capture has a value for %s", f)
		}
	}
	t.Logf("values compared: %v", total)
}

// TestTwoPassesAgree: Wireshark dissects once without a tree, then again
// for display, as tshark -2 does. What the second pass shows must be what
// the reference finds, as in a single pass.
func TestTwoPassesAgree(t *testing.T) {
	needTshark(t)
	plugin := pluginFile(t)
	for _, capture := range []string{"testdata/coalesced.pcap", "testdata/split.pcap"} {
		compareUnits(t, capture, referenceUnits(t, capture), luaUnits(t, plugin, capture, "-2"))
	}
}
