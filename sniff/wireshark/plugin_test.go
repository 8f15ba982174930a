package wireshark_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"chatlab/sniff/wireshark"
)

func TestPluginIsTheFile(t *testing.T) {
	src, err := os.ReadFile(wireshark.FileName)
	if err != nil {
		t.Fatal(err)
	}
	p := wireshark.Plugin()
	if !bytes.Equal(p, src) || len(p) == 0 {
		t.Fatalf("Plugin() is %d bytes, %s %d", len(p), wireshark.FileName, len(src))
	}
	p[0] ^= 0xff
	if !bytes.Equal(wireshark.Plugin(), src) {
		t.Fatal("changing what Plugin returned changed the plugin")
	}
}

func TestInstallWritesAndReplaces(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path, err := wireshark.Install(dir)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, wireshark.FileName) {
		t.Fatalf("installed at %s", path)
	}
	if err := os.WriteFile(path, []byte("-- an older version"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := wireshark.Install(dir); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, wireshark.Plugin()) {
		t.Fatalf("after a second install: %v, %d bytes", err, len(got))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("the folder holds %d files, want only %s", len(entries), wireshark.FileName)
	}
}

func TestInstallRefusesAFileForAFolder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plugins")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := wireshark.Install(file); err == nil || !strings.HasPrefix(err.Error(), "wireshark: ") {
		t.Fatalf("install into a file: %v", err)
	}
}

func TestPluginDirIsPersonal(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("APPDATA", "")
	dir, err := wireshark.PluginDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(home, ".local", "lib", "wireshark", "plugins"); dir != want {
		t.Fatalf("plugin folder %s, want %s", dir, want)
	}
}

// TestInstalledPluginLoads installs into a fresh home's plugin folder and
// checks that tshark started there knows both protocols.
func TestInstalledPluginLoads(t *testing.T) {
	bin := needTshark(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("APPDATA", "")
	path, err := wireshark.Install("")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(path, home) {
		t.Fatalf("installed at %s, outside the home %s", path, home)
	}
	cmd := exec.Command(bin, "-G", "protocols")
	cmd.Env = append(os.Environ(), "HOME="+home)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{"\tchatlab\n", "\tchatlab_c\n"} {
		if !strings.Contains(string(out), proto) {
			t.Errorf("tshark in %s does not list %q", home, strings.TrimSpace(proto))
		}
	}
}
