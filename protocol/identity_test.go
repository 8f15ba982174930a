package protocol

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFingerprintMatchesVector(t *testing.T) {
	key := testKey(t, "server-key.pem")
	want := readVectors(t, vectorsPath)[0]["fingerprint"]
	if got := Fingerprint(&key.PublicKey); got != want {
		t.Fatalf("fingerprint %s, want %s", got, want)
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	if testing.Short() {
		t.Skip("generates an RSA key")
	}
	if _, _, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "missing", "server.key"), rand.Reader); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a key in a missing directory: %v", err)
	}
	path := filepath.Join(t.TempDir(), "server.key")
	k1, created, err := LoadOrCreateKey(path, rand.Reader)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v %v", fi.Mode(), err)
	}
	k2, created, err := LoadOrCreateKey(path, rand.Reader)
	if err != nil || created || Fingerprint(&k1.PublicKey) != Fingerprint(&k2.PublicKey) {
		t.Fatalf("reload changed the key: %v %v", created, err)
	}
}

func TestLoadKeyErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.key")
	os.WriteFile(garbage, []byte("not a key"), 0o600)
	if _, _, err := LoadOrCreateKey(garbage, rand.Reader); err == nil || !strings.Contains(err.Error(), "no PEM block") {
		t.Errorf("garbage key: %v", err)
	}
	before, _ := os.ReadFile(garbage)
	if string(before) != "not a key" {
		t.Error("a bad key file was overwritten")
	}
	if os.Geteuid() != 0 {
		unreadable := filepath.Join(dir, "unreadable.key")
		os.WriteFile(unreadable, []byte("x"), 0o000)
		if _, _, err := LoadOrCreateKey(unreadable, rand.Reader); err == nil || !errors.Is(err, os.ErrPermission) {
			t.Errorf("unreadable key: %v", err)
		}
	}
	// A directory where the file should be.
	if _, _, err := LoadOrCreateKey(dir, rand.Reader); err == nil {
		t.Error("a directory was accepted as a key file")
	}
}

func TestKnownServers(t *testing.T) {
	ks := KnownServers{Path: filepath.Join(t.TempDir(), "chatlab", "known_servers")}
	first, err := ks.Check("127.0.0.1:9000", "SHA256:aaa")
	if err != nil || !first {
		t.Fatalf("first use: %v %v", first, err)
	}
	first, err = ks.Check("127.0.0.1:9000", "SHA256:aaa")
	if err != nil || first {
		t.Fatalf("second use: %v %v", first, err)
	}
	if _, err := ks.Check("127.0.0.1:9001", "SHA256:bbb"); err != nil {
		t.Fatal(err)
	}
	_, err = ks.Check("127.0.0.1:9000", "SHA256:evil")
	var changed *FingerprintChangedError
	if !errors.As(err, &changed) || changed.Known != "SHA256:aaa" || changed.Got != "SHA256:evil" || changed.Line != 1 {
		t.Fatalf("changed key: %v", err)
	}
	if !strings.Contains(err.Error(), "man in the middle") || !strings.Contains(err.Error(), ks.Path) {
		t.Errorf("the refusal does not explain itself: %v", err)
	}
	// The refusal must not overwrite what was remembered.
	if fp, _, _ := ks.Lookup("127.0.0.1:9000"); fp != "SHA256:aaa" {
		t.Errorf("remembered %s after a refusal", fp)
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"alice", "Bob_2", "a.b-c", strings.Repeat("x", MaxName)} {
		if err := ValidName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a b", "al:ice", "*", "\x1b[31m", "ålice", strings.Repeat("x", MaxName+1), "bob\n"} {
		if ValidName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzKnownServers parses arbitrary known-servers files: no panic, and a
// fingerprint found for an address stands on the line reported, after
// the address. (It parses from memory: a file per input would make the
// fuzzer slow enough to miss its deadline.)
func FuzzKnownServers(f *testing.F) {
	for _, seed := range seedLines(f, "testdata/known_servers.txt") {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, content string) {
		fp, line, err := lookupKnown(strings.NewReader(content), "127.0.0.1:9000")
		if err != nil || fp == "" {
			return
		}
		lines := strings.Split(content, "\n")
		if line < 1 || line > len(lines) {
			t.Fatalf("fingerprint %q reported on line %d of %d", fp, line, len(lines))
		}
		if fields := strings.Fields(lines[line-1]); len(fields) != 2 || fields[0] != "127.0.0.1:9000" || fields[1] != fp {
			t.Fatalf("line %d is %q, not the address and %q", line, lines[line-1], fp)
		}
	})
}
