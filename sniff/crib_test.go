package sniff

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// TestRecoveryWeakSession runs the recovery over a fixed-nonce session,
// both ways: each direction is its own keystream, so the client's three
// records are solved together and the server's two together, and a crib
// says what it did in words.
func TestRecoveryWeakSession(t *testing.T) {
	s := weakSession(t, "weak-chat", ap("127.0.0.1:40005"),
		[]string{"alice", "hello bob", "/quit"},
		[]string{"* you are alice; in the room: alice; /help lists commands", "* bye"})
	var pcap bytes.Buffer
	newPCAPBuilder(t, &pcap).conversation(t, s)
	out, _ := runFile(t, pcap.Bytes(), Config{Follow: true, Cribs: []string{"hello"}})
	out = unwrap(out)
	if n := strings.Count(out, "IV reuse recovery"); n != 2 {
		t.Fatalf("%d recoveries, want one per direction:\n%s", n, out)
	}
	for _, want := range []string{
		"3 records share IV 000000000000000000000000 under one key",
		"2 records share IV 000000000000000000000000 under one key",
		`crib "hello"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	// Every recovered line shows only the record's own length: no field
	// runs past the ciphertext it came from.
	line := regexp.MustCompile(`record (\d+) (client → server|server → client)  message "([^"]*)"`)
	lens := map[string]int{"3": 5, "4": 9, "5": 5, "6": 57, "7": 5}
	found := 0
	for _, m := range line.FindAllStringSubmatch(out, -1) {
		found++
		if got := len([]rune(m[3])); got > lens[m[1]] {
			t.Errorf("record %s shows %d characters, but it carried %d: %q", m[1], got, lens[m[1]], m[3])
		}
	}
	if found != 5 {
		t.Errorf("%d recovered records, want 5:\n%s", found, out)
	}
}

// unwrap joins the lines the terminal view wrapped for its width: a
// continuation is indented two more than the line it continues.
func unwrap(s string) string {
	return regexp.MustCompile(`\n {8}`).ReplaceAllString(s, " ")
}

// TestCribWithoutReuse: a crib given where no IV repeats is said to have
// nothing to unlock, not ignored in silence.
func TestCribWithoutReuse(t *testing.T) {
	out, _ := runFile(t, pcapFor(t, secureScenario(t)), Config{Follow: true, Cribs: []string{"hello"}})
	if !strings.Contains(unwrap(out), "--crib was given, but no IV or nonce repeated under one key") {
		t.Errorf("the crib's fate is not said:\n%s", out)
	}
}
