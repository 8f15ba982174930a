package sniff

import (
	"chatlab/sniff/event"
	"chatlab/sniff/render"
	"fmt"
	"unicode/utf8"

	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the pcaps and golden files in testdata")

// scenarios returns every conversation the golden tests cover.
func scenarios(t testing.TB) []scenario {
	return []scenario{plainScenario(), secureScenario(t), weakScenario(t), legacyScenario(t)}
}

// pcapFor returns the scenario's capture from testdata, first writing it
// with -update if the file is missing. Captures with random key exchanges
// are kept as files so the golden output stays fixed: -update leaves an
// existing one alone, and deleting it makes a new one.
func pcapFor(t *testing.T, s scenario) []byte {
	t.Helper()
	path := filepath.Join("testdata", s.name+".pcap")
	if _, err := os.Stat(path); *update && err != nil {
		var buf bytes.Buffer
		newPCAPBuilder(t, &buf).conversation(t, s)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// runFile runs sniff over a capture held in memory, as -r would.
func runFile(t testing.TB, pcap []byte, cfg Config) (string, []event.ConnStats) {
	t.Helper()
	src, link, err := OpenFile(bytes.NewReader(pcap))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cfg.Out = &out
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	stats, err := Run(context.Background(), src, link, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), stats
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	checkWidth(t, name, got)
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s: output differs from the golden file (run go test -update to accept):\n%s", path, got)
	}
}

func TestGolden(t *testing.T) {
	key := loadTestKey(t)
	for _, s := range scenarios(t) {
		t.Run(s.name, func(t *testing.T) {
			pcap := pcapFor(t, s)
			variants := map[string]Config{
				"segments": {Stats: true},
				"follow":   {Follow: true},
				"key":      {Follow: true, Key: key},
				"dump":     {Follow: true, Dumps: render.DumpHexASCII},
			}
			if s.name == "legacy" || s.name == "weak" {
				variants["crib"] = Config{Follow: true, Cribs: []string{"alice", "bob", "hello"}}
			}
			for v, cfg := range variants {
				out, _ := runFile(t, pcap, cfg)
				checkGolden(t, s.name+"."+v, out)
			}
		})
	}
}

// TestTapMatchesFollow checks the promise lessons rely on: a Tap fed the
// streams directly prints what Run prints for their capture with Follow.
func TestTapMatchesFollow(t *testing.T) {
	key := loadTestKey(t)
	for _, s := range scenarios(t) {
		t.Run(s.name, func(t *testing.T) {
			cfg := Config{Follow: true, Key: key, Cribs: []string{"alice"}}
			var pcap bytes.Buffer
			newPCAPBuilder(t, &pcap).conversation(t, s)
			want, _ := runFile(t, pcap.Bytes(), cfg)
			var out bytes.Buffer
			cfg.Out = &out
			tap := NewTap(cfg)
			for _, e := range s.events {
				tap.Data(s.client, s.server, e.fromClient, e.data)
			}
			if err := tap.Close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != want {
				t.Errorf("Tap output:\n%s\nRun --follow output:\n%s", out.String(), want)
			}
		})
	}
}

// TestLegacyIVReuse checks the IV reuse analysis on frames built to the
// original program's layout: fixed zero IV, no tag, AES-128-GCM. With no
// key and no crib, the padding and the statistics of English read every
// frame, names included; a crib is reported in words.
func TestLegacyIVReuse(t *testing.T) {
	s := legacyScenario(t)
	run := func(cribs ...string) string {
		var out bytes.Buffer
		tap := NewTap(Config{Out: &out, Cribs: cribs})
		for _, e := range s.events {
			tap.Data(s.client, s.server, e.fromClient, e.data)
		}
		tap.Close()
		return unwrap(out.String())
	}
	out := run()
	if !strings.Contains(out, "IV reuse") {
		t.Fatalf("no IV reuse warning:\n%s", out)
	}
	for i, lm := range legacyMessages {
		dir := "server → client"
		if lm.fromClient {
			dir = "client → server"
		}
		want := fmt.Sprintf(`frame %d %s  name %q text %q`, i+1, dir, lm.m.Name, lm.m.Text)
		if !strings.Contains(out, want) {
			t.Errorf("the recovery lacks %s:\n%s", want, out)
		}
	}
	out = run("the meeting")
	if !strings.Contains(out, `crib "the meeting" fits at the start of the text in frame 3`) {
		t.Errorf("the crib's report is missing:\n%s", out)
	}
}

// TestStatsCompare checks the comparison the lessons draw: plain text has
// lower entropy and a higher printable share than secure records.
func TestStatsCompare(t *testing.T) {
	_, plain := runFile(t, pcapFor(t, plainScenario()), Config{Stats: true})
	_, secure := runFile(t, pcapFor(t, secureScenario(t)), Config{Stats: true})
	if len(plain) != 1 || len(secure) != 1 {
		t.Fatalf("got %d and %d connections", len(plain), len(secure))
	}
	p, s := plain[0], secure[0]
	if p.Proto != event.ProtoPlain || s.Proto != event.ProtoSecure {
		t.Fatalf("recognised %v and %v", p.Proto, s.Proto)
	}
	if !(p.Entropy < s.Entropy) || !(p.Printable > s.Printable) || p.Printable != 1 {
		t.Errorf("plain %+v, secure %+v", p, s)
	}
	if p.Packets == 0 || p.Bytes == 0 {
		t.Errorf("plain counts %+v", p)
	}
}

// checkWidth fails on a line of out wider than the terminal view's
// render.Width, a tab counting as eight columns.
func checkWidth(t *testing.T, name, out string) {
	t.Helper()
	for i, line := range strings.Split(out, "\n") {
		n := utf8.RuneCountInString(strings.ReplaceAll(line, "\t", "        "))
		if n > render.Width {
			t.Errorf("%s: line %d is %d columns wide: %q", name, i+1, n, line)
		}
	}
}

// TestVersion1CaptureStillOpens: a capture made before the hello had a
// random is still dissected and opened with --key, and says why such a
// session is weaker.
func TestVersion1CaptureStillOpens(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "secure-v1.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := runFile(t, data, Config{Follow: true, Key: loadTestKey(t)})
	for _, want := range []string{"hello: CLAB version 1", "no server random", "hunter2"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
}
