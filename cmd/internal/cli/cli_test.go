package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"runtime/debug"
	"strings"
	"testing"
)

func testFlags() *flag.FlagSet {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.String("connect", "127.0.0.1:9000", "server `address`")
	fs.String("name", "guest", "your name in the room")
	fs.Bool("plain", false, "no encryption")
	fs.Int("clients", 2, "members")
	fs.Usage = func() { fmt.Fprintln(fs.Output(), "Usage: chat client [flags]") }
	return fs
}

func TestParseHelpGoesToStdout(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		fs := testFlags()
		var out bytes.Buffer
		err := Parse(fs, []string{"--name", "bob", arg}, &out, "chat client")
		if !errors.Is(err, ErrHelp) || out.String() != "Usage: chat client [flags]\n" {
			t.Errorf("%s: err %v, stdout %q", arg, err, out.String())
		}
		if !IsHelp(arg) {
			t.Errorf("IsHelp(%q) = false", arg)
		}
	}
}

// TestParseMistakesSaidOnce: each mistake is one error in the words a
// person types, with nothing printed by the flag package itself.
func TestParseMistakesSaidOnce(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		err, hint string
	}{
		{[]string{"--conect", "x"}, "unknown flag --conect", `did you mean --connect? "chat client -h" lists the flags`},
		{[]string{"-nmae", "x"}, "unknown flag --nmae", "did you mean --name?"},
		{[]string{"--zzzzzz"}, "unknown flag --zzzzzz", `"chat client -h" lists the flags`},
		{[]string{"--name"}, "--name needs a value", `"chat client -h" lists the flags`},
		{[]string{"--clients", "many"}, `--clients "many": parse error`, ""},
		{[]string{"--plain=maybe"}, `--plain "maybe": parse error`, ""},
		{[]string{"---x"}, `"---x" is not a flag`, ""},
		{[]string{"extra"}, `unexpected argument "extra"`, ""},
	} {
		fs := testFlags()
		var out bytes.Buffer
		fs.SetOutput(&out)
		err := Parse(fs, tc.args, &out, "chat client")
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v is not a usage error", tc.args, err)
			continue
		}
		if ue.Error() != tc.err || !strings.Contains(ue.Hint, tc.hint) {
			t.Errorf("%q: error %q hint %q, want %q and %q", tc.args, ue.Error(), ue.Hint, tc.err, tc.hint)
		}
		if out.Len() > 0 {
			t.Errorf("%q: the flag package printed %q", tc.args, out.String())
		}
	}
}

func TestPrintFlagsAsTyped(t *testing.T) {
	var out bytes.Buffer
	PrintFlags(&out, testFlags())
	want := "  --clients INT         members (default 2)\n" +
		"  --connect ADDRESS     server address (default 127.0.0.1:9000)\n" +
		"  --name STRING         your name in the room (default guest)\n" +
		"  --plain               no encryption\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestTrimPrefixes(t *testing.T) {
	got := TrimPrefixes("connect: chat: the server's fingerprint does not match", "chat: ")
	if got != "connect: the server's fingerprint does not match" {
		t.Errorf("got %q", got)
	}
	if got := TrimPrefixes("lessons: no lesson 9", "lessons: "); got != "no lesson 9" {
		t.Errorf("got %q", got)
	}
}

func TestVersion(t *testing.T) {
	info := &debug.BuildInfo{Main: debug.Module{Path: "chatlab", Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}
	got := versionOf("chat", info, true)
	if !strings.HasPrefix(got, "chat (devel) revision 0123456789ab, modified (go") {
		t.Errorf("got %q", got)
	}
	info.Main.Version = "v0.0.0-20260101000000-0123456789ab"
	if got := versionOf("chat", info, true); !strings.HasPrefix(got, "chat v0.0.0-20260101000000-0123456789ab (go") {
		t.Errorf("a pseudo-version repeats its revision: %q", got)
	}
	if got := versionOf("lesson", nil, false); !strings.Contains(got, "version unknown") {
		t.Errorf("got %q", got)
	}
	if got := Version("x"); !strings.HasPrefix(got, "x ") {
		t.Errorf("Version gave %q", got)
	}
}

func TestWrapHangingIndent(t *testing.T) {
	text := strings.Repeat("word ", 30) + "\n    an example kept as is\nlast"
	got := Wrap("chat: hint: ", text, 40)
	for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if len(line) > 40 {
			t.Errorf("line of %d columns: %q", len(line), line)
		}
	}
	lines := strings.Split(got, "\n")
	if !strings.HasPrefix(lines[0], "chat: hint: word") || !strings.HasPrefix(lines[1], "            word") {
		t.Errorf("no hanging indent:\n%s", got)
	}
	if !strings.Contains(got, "\n                an example kept as is\n            last\n") {
		t.Errorf("the indented line was not kept:\n%s", got)
	}
}

func TestCheckAddrSaysWhatIsMissing(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:9000": "",
		"[::1]:9000":     "",
		":9000":          "",
		"9000":           "--connect 9000: the host is missing",
		"localhost":      "--connect localhost: the port is missing",
		"localhost:":     "--connect localhost:: the port is missing",
		"::1:9000":       `--connect "::1:9000" is not HOST:PORT`,
	} {
		err := CheckAddr("connect", addr)
		if (want == "") != (err == nil) || (err != nil && err.Error() != want) {
			t.Errorf("%q: %v, want %q", addr, err, want)
		}
	}
}

func TestThemeFlag(t *testing.T) {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	var th Theme
	fs.Var(&th, "theme", ThemeUsage)
	if err := Parse(fs, []string{"--theme", "light"}, &bytes.Buffer{}, "chat client"); err != nil || th != ThemeLight {
		t.Fatalf("--theme light: %v, %q", err, th)
	}
	err := Parse(fs, []string{"--theme", "blue"}, &bytes.Buffer{}, "chat client")
	if err == nil || err.Error() != `--theme "blue": want light or dark` {
		t.Errorf("--theme blue: %v", err)
	}
}
