package sniff

import (
	"chatlab/sniff/event"

	"bytes"
	"regexp"
	"strings"
	"testing"
)

// xorStream encrypts each plaintext with one made-up keystream, as a
// reused nonce does.
func xorStream(plain ...string) [][]byte {
	var cts [][]byte
	for _, p := range plain {
		ct := make([]byte, len(p))
		for i := range ct {
			ct[i] = p[i] ^ byte(i*151+29)
		}
		cts = append(cts, ct)
	}
	return cts
}

// TestCribPlacement checks when a crib is used: where it fits in one
// place only, and never where two placements that disagree both fit.
func TestCribPlacement(t *testing.T) {
	alice := [][]byte{[]byte("alice")}
	tests := []struct {
		name  string
		plain []string
		want  []string // the plaintexts shown, or nil if the crib must go unused
	}{
		{
			// Placed in either of two ciphertexts, a crib turns the other
			// into the same text: "alice" in "* bye" makes the notice read
			// "alice", and "alice" in the notice makes "* bye" read "alruu".
			name:  "two records",
			plain: []string{"* you are alice; in the room: alice", "* bye"},
		},
		{
			name:  "the right place among three",
			plain: []string{"alice", "hello bob", "/quit"},
			want:  []string{"alice", "hello....", "/quit"},
		},
		{
			// No other record reaches the crib's bytes, so nothing could
			// show the guess wrong.
			name:  "no witness",
			plain: []string{"alice", "ok", "hi"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cts := xorStream(tt.plain...)
			k := recoverKeystream(cts, false, alice)
			if len(k.cribs) != 1 {
				t.Fatalf("%d crib reports, want 1", len(k.cribs))
			}
			if tt.want == nil {
				if k.cribs[0].used() || k.cribbed != 0 {
					t.Fatalf("the crib was used (%+v), %d bytes guessed", k.cribs[0], k.cribbed)
				}
				return
			}
			if !k.cribs[0].used() {
				t.Fatalf("the crib was not used: %+v", k.cribs[0])
			}
			for i, ct := range cts {
				if got := plaintextOf(&k, ct); got != tt.want[i] {
					t.Errorf("ciphertext %d reads %q, want %q", i, got, tt.want[i])
				}
			}
		})
	}
}

// TestCribWeakSession runs a crib over a fixed-nonce session, both ways:
// the client's records take it, as a labelled guess; the server's, under
// their own key, have only two records, where it fits either way, so
// they show nothing.
func TestCribWeakSession(t *testing.T) {
	s := weakSession(t, "weak-chat", ap("127.0.0.1:40005"),
		[]string{"alice", "hello bob", "/quit"},
		[]string{"* you are alice; in the room: alice; /help lists commands", "* bye"})
	var pcap bytes.Buffer
	newPCAPBuilder(t, &pcap).conversation(t, s)
	out, _ := runFile(t, pcap.Bytes(), Config{Follow: true, Cribs: []string{"alice"}})
	out = unwrap(out)
	for _, want := range []string{
		`record 3 client → server  if the crib "alice" is right: "alice"`,
		`record 4 client → server  if the crib "alice" is right: "hello····"`,
		`record 5 client → server  if the crib "alice" is right: "/quit"`,
		`crib "alice" fits at the start of record 6, or at the start of record 7: only one can be right`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	// The server's records: nothing known, nothing claimed.
	unknown := regexp.MustCompile(`^record \d+ server → client  "·+"$`)
	n := 0
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "record ") && strings.Contains(l, "server → client") {
			n++
			if !unknown.MatchString(l) {
				t.Errorf("a server record shows a guess: %s", l)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d server records in the recovery, want 2:\n%s", n, out)
	}
}

// plaintextOf is ct under the known keystream, "." where it is unknown.
func plaintextOf(k *keystream, ct []byte) string {
	p, g := k.grades(ct)
	for i := range p {
		if g[i] == event.Unknown {
			p[i] = '.'
		}
	}
	return string(p)
}

// unwrap joins the lines the terminal view wrapped for its width: a
// continuation is indented two more than the line it continues.
func unwrap(s string) string {
	return regexp.MustCompile(`\n {8}`).ReplaceAllString(s, " ")
}
