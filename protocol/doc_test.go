package protocol_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// TestProtocolDocLimits keeps the limits table of PROTOCOL.md in step
// with the constants it names.
func TestProtocolDocLimits(t *testing.T) {
	doc, err := os.ReadFile("PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"MaxName":           "32",
		"MaxMessage":        "4000",
		"MaxLine":           "4096",
		"MaxRecordBody":     "4160",
		"HandshakeTimeout":  "5 s",
		"NameTimeout":       "2 min",
		"QuietNameTimeout":  "30 s",
		"DefaultQueueLimit": "4096 lines",
		"WaitBytes":         "256 KiB",
		"WriteTimeout":      "10 s",
		"DefaultQueueBytes": "1 MiB",
		"DefaultMaxPending": "512",
	}
	// The table's values are checked against the code here, so a change
	// to a constant without the document fails.
	actual := map[string]bool{
		"MaxName": protocol.MaxName == 32, "MaxMessage": protocol.MaxMessage == 4000,
		"MaxLine": protocol.MaxLine == 4096, "MaxRecordBody": protocol.MaxRecordBody == 4160,
		"HandshakeTimeout": protocol.HandshakeTimeout.String() == "5s", "NameTimeout": protocol.NameTimeout.String() == "2m0s",
		"QuietNameTimeout":  protocol.QuietNameTimeout.String() == "30s",
		"DefaultQueueLimit": chat.DefaultQueueLimit == 4096, "DefaultQueueBytes": chat.DefaultQueueBytes == 1<<20,
		"WaitBytes": chat.WaitBytes == 256<<10, "WriteTimeout": chat.WriteTimeout.String() == "10s",
		"DefaultMaxPending": chat.DefaultMaxPending == 512,
	}
	row := regexp.MustCompile("(?m)^\\| `(\\w+)`[^|]*\\| ([^|]+) \\|")
	seen := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		seen[m[1]] = strings.TrimSpace(m[2])
	}
	for name, value := range want {
		if seen[name] != value {
			t.Errorf("PROTOCOL.md gives %s as %q, want %q", name, seen[name], value)
		}
		if !actual[name] {
			t.Errorf("%s in the code is no longer %s: update PROTOCOL.md and this test", name, value)
		}
	}
}

// TestProtocolDocTestsExist checks that every test PROTOCOL.md cites as
// checking a protection exists.
func TestProtocolDocTestsExist(t *testing.T) {
	doc, err := os.ReadFile("PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	var sources strings.Builder
	err = filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, "_test.go") {
			b, err := os.ReadFile(path)
			sources.Write(b)
			return err
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cited := regexp.MustCompile("`(Test\\w+)`").FindAllStringSubmatch(string(doc), -1)
	if len(cited) < 10 {
		t.Fatalf("only %d tests cited", len(cited))
	}
	for _, m := range cited {
		if !strings.Contains(sources.String(), "func "+m[1]+"(") {
			t.Errorf("PROTOCOL.md cites %s, which does not exist", m[1])
		}
	}
}
