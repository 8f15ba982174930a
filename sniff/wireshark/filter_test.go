package wireshark_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"chatlab/protocol"
)

// writeCapture puts conversations in a capture file in a test folder.
func writeCapture(t *testing.T, convs ...conversation) string {
	t.Helper()
	var out bytes.Buffer
	c := newCapture(t, &out)
	for _, cv := range convs {
		c.add(t, cv)
	}
	path := filepath.Join(t.TempDir(), "capture.pcap")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDisplayFilterOnType selects the data records with
// chatlab.type == 0x17, as the README shows.
func TestDisplayFilterOnType(t *testing.T) {
	needTshark(t)
	plugin := pluginFile(t)
	capture := "../testdata/secure.pcap"
	var want []string
	for _, u := range referenceUnits(t, capture) {
		if u.fields["chatlab.type"] == "0x17" {
			want = append(want, u.fields["chatlab.seq"])
		}
	}
	out := tshark(t, plugin, capture, "-Y", "chatlab.type == 0x17", "-T", "fields", "-e", "chatlab.seq")
	if got := strings.Fields(out); strings.Join(got, " ") != strings.Join(want, " ") || len(want) == 0 {
		t.Fatalf("the filter selected records with seq %v, want %v", got, want)
	}
}

// TestDecodeAs: a plain-mode conversation on an unusual port, whose
// banner does not name chatlab, is found only when the user says so.
func TestDecodeAs(t *testing.T) {
	needTshark(t)
	plugin := pluginFile(t)
	capture := writeCapture(t, conversation{
		client: ap("127.0.0.1:43001"), server: ap("127.0.0.1:7000"),
		writes: plainWrites("* hello, who are you?"), cuts: []int{1000},
	})
	if out := tshark(t, plugin, capture, "-Y", "chatlab"); strings.TrimSpace(out) != "" {
		t.Fatalf("found without Decode As:\n%s", out)
	}
	out := tshark(t, plugin, capture, "-d", "tcp.port==7000,chatlab", "-T", "fields", "-e", "chatlab.kind", "-Y", "chatlab")
	if got := strings.Join(strings.Fields(out), " "); got != "notice name message command chat notice notice" {
		t.Fatalf("with Decode As, the kinds are %q", got)
	}
}

// TestMalformedInput feeds the dissectors what a hostile or confused peer
// sends: no Lua error, each problem marked malformed, nothing claimed
// beyond it.
func TestMalformedInput(t *testing.T) {
	needTshark(t)
	plugin := pluginFile(t)
	oversize := protocol.Header{Type: protocol.TypeData, Length: protocol.MaxRecordBody + 1}.Marshal(nil)
	unknown := append([]byte{0x05, 0, 0, 0, 3}, "abc"...)
	short := append(protocol.Header{Type: protocol.TypeData, Length: 4}.Marshal(nil), 1, 2, 3, 4)
	badHello := append(protocol.Header{Type: protocol.TypeHello, Length: 8}.Marshal(nil), "CLAB\x01\x01\x30\x00"...)
	capture := writeCapture(t,
		conversation{client: ap("127.0.0.1:44001"), server: ap("127.0.0.1:9000"), cuts: []int{500},
			writes: []write{{false, badHello}, {true, short}, {true, oversize}}},
		conversation{client: ap("127.0.0.1:44002"), server: ap("127.0.0.1:9000"), cuts: []int{500},
			writes: []write{{false, unknown}}},
		conversation{client: ap("127.0.0.1:44003"), server: ap("127.0.0.1:9000"), cuts: []int{1400},
			writes: []write{{false, []byte("* chatlab\n")}, {true, bytes.Repeat([]byte("x"), protocol.MaxLine+10)}}},
		conversation{client: ap("127.0.0.1:44004"), server: ap("127.0.0.1:1234"), cuts: []int{100},
			writes: []write{{false, []byte(strings.Repeat("not a key ", 500))}, {true, []byte("short")}}},
	)
	out := tshark(t, plugin, capture, "-T", "fields", "-E", "aggregator="+aggregator,
		"-e", "tcp.stream", "-e", "_ws.expert.message", "-Y", "chatlab or chatlab_c")
	malformed := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		stream, msgs, _ := strings.Cut(line, "\t")
		for _, m := range strings.Split(msgs, aggregator) {
			if strings.HasPrefix(m, "Lua Error") {
				t.Fatalf("stream %s: %s", stream, m)
			}
			if strings.Contains(m, "over the limit") || strings.Contains(m, "unknown record type") ||
				strings.Contains(m, "shorter than") || strings.Contains(m, "not an RSA") ||
				strings.Contains(m, "over 4096 bytes") || strings.Contains(m, "does not start with its PEM key") {
				malformed[stream]++
			}
		}
	}
	for _, stream := range []string{"0", "1", "2", "3"} {
		if malformed[stream] == 0 {
			t.Errorf("stream %s: no malformed mark in\n%s", stream, out)
		}
	}
	if malformed["0"] < 3 {
		t.Errorf("stream 0: %d of its 3 bad records marked:\n%s", malformed["0"], out)
	}
}
