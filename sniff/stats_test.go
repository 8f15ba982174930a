package sniff

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

// TestStatsSideBySide checks the comparison block: a row for each kind
// seen and none for a kind not seen, counts in the singular for one, and
// a note when only one of plain and secure was seen.
func TestStatsSideBySide(t *testing.T) {
	plain2 := plainScenario()
	plain2.client = netip.AddrPortFrom(plain2.client.Addr(), 40011)
	tests := []struct {
		name      string
		scenarios []scenario
		want      []string
		notWant   []string
	}{
		{
			name:      "both",
			scenarios: []scenario{plainScenario(), plain2, secureScenario(t)},
			want:      []string{"chatlab plain   2 conns", "chatlab secure  1 conn  "},
			notWant:   []string{"to compare", "1 conns"},
		},
		{
			name:      "secure only",
			scenarios: []scenario{secureScenario(t)},
			want:      []string{"chatlab secure  1 conn  ", "only secure traffic was seen: run a plain chat too to compare"},
			notWant:   []string{"chatlab plain ", "0 conns"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pcap bytes.Buffer
			b := newPCAPBuilder(t, &pcap)
			for _, s := range tt.scenarios {
				b.conversation(t, s)
			}
			out, _ := runFile(t, pcap.Bytes(), Config{Stats: true})
			_, block, _ := strings.Cut(out, "plain and secure side by side")
			for _, w := range tt.want {
				if !strings.Contains(block, w) {
					t.Errorf("the comparison lacks %q:\n%s", w, block)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(block, w) {
					t.Errorf("the comparison has %q:\n%s", w, block)
				}
			}
		})
	}
}

// TestSingularBytes checks that a count of one is written "1 byte".
func TestSingularBytes(t *testing.T) {
	var out bytes.Buffer
	tap := NewTap(Config{Out: &out})
	tap.Data(ap("127.0.0.1:40012"), ap("127.0.0.1:9000"), true, []byte{0xff})
	if err := tap.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "binary 1 byte\n") {
		t.Errorf("want \"binary 1 byte\":\n%s", out.String())
	}
}
