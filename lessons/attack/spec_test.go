package attack

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseFlip(t *testing.T) {
	f, err := ParseFlip("2:12:08ff")
	if err != nil || f.Record != 2 || f.Offset != 12 || !bytes.Equal(f.XOR, []byte{0x08, 0xff}) || f.Plaintext {
		t.Fatalf("ParseFlip = %+v, %v", f, err)
	}
	for _, bad := range []string{"", "2", "2:12", "0:1:08", "2:-1:08", "2:1:zz", "2:1:", "a:1:08", "2:1:08:9"} {
		if _, err := ParseFlip(bad); !errors.Is(err, errSpec) {
			t.Errorf("ParseFlip(%q) = %v, want a spec error", bad, err)
		}
	}
}

func TestParseEdit(t *testing.T) {
	f, err := ParseEdit("2:pay 100=pay 900")
	if err != nil || f.Record != 2 || !f.Plaintext || !bytes.Equal(f.XOR, []byte{0, 0, 0, 0, '1' ^ '9', 0, 0}) {
		t.Fatalf("ParseEdit = %+v, %v", f, err)
	}
	for _, bad := range []string{"pay=pan", "2:pay", "2:ab=abc", "2:=", "x:a=b"} {
		if _, err := ParseEdit(bad); !errors.Is(err, errSpec) {
			t.Errorf("ParseEdit(%q) = %v, want a spec error", bad, err)
		}
	}
}

func TestParseReplay(t *testing.T) {
	for in, want := range map[string]Replay{"2": {2, 2}, "2@3": {2, 3}} {
		if got, err := ParseReplay(in); err != nil || got != want {
			t.Errorf("ParseReplay(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "3@2", "2@", "x"} {
		if _, err := ParseReplay(bad); !errors.Is(err, errSpec) {
			t.Errorf("ParseReplay(%q) = %v, want a spec error", bad, err)
		}
	}
}
