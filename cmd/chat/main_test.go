package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"chatlab/protocol/chat"
)

// cliDeadline bounds every command these tests run.
const cliDeadline = 2 * time.Minute

// chatBin is the chat binary built once for the CLI tests, with a
// directory of its own for keys and config.
type chatBin struct{ path, dir string }

// builtChat is set by TestMain: building once saves seconds per test.
var builtChat string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chat-cli-test")
	if err != nil {
		panic(err)
	}
	builtChat = filepath.Join(dir, "chat")
	if out, err := exec.Command("go", "build", "-o", builtChat, ".").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		panic(fmt.Sprintf("build chat: %v\n%s", err, out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildChat(t *testing.T) chatBin {
	t.Helper()
	dir := t.TempDir()
	key, err := os.ReadFile("../../protocol/testdata/server-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "server.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	return chatBin{path: builtChat, dir: dir}
}

func (b chatBin) command(args ...string) *exec.Cmd {
	cmd := exec.Command(b.path, args...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(b.dir, "config"), "NO_COLOR=")
	cmd.WaitDelay = cliDeadline
	return cmd
}

// run runs chat to completion with stdin and returns stdout, stderr and
// the exit code.
func (b chatBin) run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := b.command(args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(cliDeadline, func() { cmd.Process.Kill() })
	defer timer.Stop()
	cmd.Wait()
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// server starts "chat server" with args on a free port and returns its
// address, its fingerprint and the running command.
func (b chatBin) server(t *testing.T, args ...string) (addr, fp string, cmd *exec.Cmd, stderr *bufio.Reader) {
	t.Helper()
	cmd = b.command(append([]string{"server", "--listen", "127.0.0.1:0"}, args...)...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	stderr = bufio.NewReader(pipe)
	listening := regexp.MustCompile(`server listening on (\S+)`)
	fingerprint := regexp.MustCompile(`fingerprint (SHA256:\S+)`)
	timer := time.AfterFunc(cliDeadline, func() { cmd.Process.Kill() })
	defer timer.Stop()
	for addr == "" || (fp == "" && !strings.Contains(strings.Join(args, " "), "--plain")) {
		line, err := stderr.ReadString('\n')
		if err != nil {
			t.Fatalf("server said no address: %v", err)
		}
		if m := listening.FindStringSubmatch(line); m != nil {
			addr = m[1]
		}
		if m := fingerprint.FindStringSubmatch(line); m != nil {
			fp = m[1]
		}
	}
	go io.Copy(io.Discard, stderr)
	return addr, fp, cmd, stderr
}

// TestHelpOnStdout: -h, --help and "help" print the usage to stdout and
// exit 0, on the command and on every subcommand, so "chat -h | less"
// shows it.
func TestHelpOnStdout(t *testing.T) {
	b := buildChat(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-h"}, usage},
		{[]string{"--help"}, usage},
		{[]string{"help"}, usage},
		{[]string{"--plain", "-h"}, usage},
		{[]string{"server", "-h"}, "Usage: chat server [flags]"},
		{[]string{"server", "--help"}, "--listen ADDRESS"},
		{[]string{"client", "--help"}, "Usage: chat client [flags]"},
		{[]string{"client", "--name", "bob", "-h"}, "--fingerprint SHA256:..."},
		{[]string{"relay", "-h"}, relayUsage},
		{[]string{"bench", "--help"}, benchUsage},
		{[]string{"help", "client"}, "Usage: chat client [flags]"},
		{[]string{"help", "relay"}, relayUsage},
	} {
		stdout, stderr, code := b.run(t, "", tc.args...)
		if code != 0 || !strings.Contains(stdout, tc.want) || stderr != "" {
			t.Errorf("%q: exit %d, stdout %.60q…, stderr %q; want %.40q on stdout", tc.args, code, stdout, stderr, tc.want)
		}
	}
}

func TestVersionFromBuildInfo(t *testing.T) {
	b := buildChat(t)
	stdout, stderr, code := b.run(t, "", "--version")
	if code != 0 || !strings.HasPrefix(stdout, "chat ") || !strings.Contains(stdout, runtime.Version()) || stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestBadArgumentsSaidOnce: a mistake on the command line is one error
// and one hint on stderr, never the usage, and exit status 2.
func TestBadArgumentsSaidOnce(t *testing.T) {
	b := buildChat(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "chat: error: no subcommand"},
		{[]string{"serve"}, `chat: error: unknown subcommand "serve"`},
		{[]string{"server", "--plain", "--secure"}, "chat: error: --plain and --secure both given"},
		{[]string{"client", "--fingerprint", "abc"}, `--fingerprint "abc" is not a fingerprint`},
		{[]string{"client", "--name", "bad!"}, "chat: hint: for example --name alice"},
		{[]string{"client", "extra"}, `unexpected argument "extra"`},
		{[]string{"client", "--conect", "127.0.0.1:9000"},
			"chat: error: unknown flag --conect\nchat: hint: did you mean --connect? \"chat client -h\" lists the flags\n"},
		{[]string{"client", "--name"}, "chat: error: --name needs a value"},
		{[]string{"bench", "--clients", "many"}, `chat: error: --clients "many": parse error`},
		{[]string{"relay", "--replay", "x"}, `chat: hint: "chat relay -h" shows the forms`},
		// Item: --connect 9000 is a port without its host.
		{[]string{"client", "--connect", "9000"},
			"chat: error: --connect 9000: the host is missing\nchat: hint: --connect wants HOST:PORT, for example --connect 127.0.0.1:9000\n"},
		{[]string{"client", "--connect", "localhost"}, "--connect localhost: the port is missing"},
		{[]string{"server", "--listen", "9000"}, "--listen 9000: the host is missing"},
		// Plain mode has no key to check.
		{[]string{"client", "--plain", "--fingerprint", "SHA256:x"},
			"chat: error: --fingerprint with --plain: a plain server has no key, so there is nothing to check\n" +
				"chat: hint: only secure mode (the default) can check whom you talk to: drop --plain\n"},
		{[]string{"client", "--plain", "--known", "/tmp/k"}, "--known with --plain: a plain server has no key"},
	} {
		stdout, stderr, code := b.run(t, "", tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q, want exit 2 and %q", tc.args, code, stdout, stderr, tc.want)
		}
		if strings.Contains(stderr, "Usage") || strings.Count(stderr, "chat: error:") != 1 || strings.Contains(stderr, "provided but not defined") {
			t.Errorf("%q: not said once, in the command's words:\n%s", tc.args, stderr)
		}
	}
}

// TestFingerprintHintNamesTheLine: the hint for a malformed fingerprint
// quotes the line the server prints, where the fingerprint is one word.
func TestFingerprintHintNamesTheLine(t *testing.T) {
	b := buildChat(t)
	_, stderr, _ := b.run(t, "", "client", "--fingerprint", "SHA256:...")
	flat := strings.Join(strings.Fields(stderr), " ")
	if !strings.Contains(flat, `chat: hint: copy the word that starts with SHA256: from the server's line "chat: server key fingerprint SHA256:…" (43 characters follow SHA256:)`) {
		t.Errorf("hint: %s", stderr)
	}
	for _, line := range strings.Split(stderr, "\n") {
		if len([]rune(line)) > 100 {
			t.Errorf("line of %d columns: %q", len([]rune(line)), line)
		}
	}
}

func TestBadKeyFileIsNotTouched(t *testing.T) {
	b := buildChat(t)
	bad := filepath.Join(b.dir, "bad.key")
	os.WriteFile(bad, []byte("garbage"), 0o600)
	_, stderr, code := b.run(t, "", "server", "--listen", "127.0.0.1:0", "--key", bad)
	if code != 1 || !strings.Contains(stderr, "chat: error:") || !strings.Contains(stderr, "chat: hint:") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if data, _ := os.ReadFile(bad); string(data) != "garbage" {
		t.Fatal("the bad key file was changed")
	}
}

// TestPipedChatAndSigterm runs a secure server, a client that stays and a
// scripted client, then stops the server with SIGTERM: the staying client
// hears the notice, and both exit 0.
func TestPipedChatAndSigterm(t *testing.T) {
	b := buildChat(t)
	addr, fp, srv, _ := b.server(t, "--key", filepath.Join(b.dir, "server.key"))

	stay := b.command("client", "--connect", addr, "--name", "alice")
	stayIn, _ := stay.StdinPipe()
	stayOut, _ := stay.StdoutPipe()
	var stayErr bytes.Buffer
	stay.Stderr = &stayErr
	if err := stay.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stayIn.Close(); stay.Process.Kill(); stay.Wait() })
	lines := bufio.NewReader(stayOut)
	waitLine := func(want string) {
		t.Helper()
		timer := time.AfterFunc(cliDeadline, func() { stay.Process.Kill() })
		defer timer.Stop()
		for {
			line, err := lines.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v; stderr %s", want, err, stayErr.String())
			}
			if strings.Contains(line, "\x1b") {
				t.Fatalf("colour on a pipe: %q", line)
			}
			if strings.HasPrefix(line, want) {
				return
			}
		}
	}
	waitLine("* you are alice")

	stdout, stderr, code := b.run(t, "hello from a script\n", "--secure", "client", "--connect", addr, "--name", "bob", "--fingerprint", fp)
	if code != 0 || !strings.Contains(stderr, "it matches --fingerprint") {
		t.Fatalf("scripted client: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	waitLine("bob: hello from a script")
	waitLine("* bob left")

	srv.Process.Signal(syscall.SIGTERM)
	waitLine("* server is shutting down")
	if err := srv.Wait(); err != nil {
		t.Fatalf("server after SIGTERM: %v", err)
	}
	stayIn.Close()
	if err := stay.Wait(); err != nil {
		t.Fatalf("client after shutdown: %v; stderr %s", err, stayErr.String())
	}
	if !strings.Contains(stayErr.String(), "first connection to "+addr) {
		t.Errorf("first use not reported: %s", stayErr.String())
	}
}

func TestChangedFingerprintRefusedLoudly(t *testing.T) {
	b := buildChat(t)
	addr, _, _, _ := b.server(t, "--key", filepath.Join(b.dir, "server.key"))
	known := filepath.Join(b.dir, "known")
	os.WriteFile(known, []byte(addr+" SHA256:somebodyelse\n"), 0o600)
	_, stderr, code := b.run(t, "secret\n", "client", "--connect", addr, "--known", known, "--name", "alice")
	flat := strings.Join(strings.Fields(stderr), " ")
	if code != 1 || !strings.Contains(flat, "REFUSING TO CONNECT") || !strings.Contains(flat, "man in the middle") || !strings.Contains(flat, "delete line 1 of "+known) {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	// The advice to delete the line is given once, by the error; the hint
	// says how to find out whether the change is genuine.
	if n := strings.Count(stderr, "delete"); n != 1 {
		t.Errorf("the advice to delete the line is given %d times:\n%s", n, stderr)
	}
	if !strings.Contains(flat, "chat: hint: ask the server's owner which fingerprint it printed at start") {
		t.Errorf("hint: %s", stderr)
	}
}

func TestModeMismatchNamesTheFlag(t *testing.T) {
	b := buildChat(t)
	secureAddr, _, _, _ := b.server(t, "--key", filepath.Join(b.dir, "server.key"))
	plainAddr, _, _, _ := b.server(t, "--plain")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"client", "--plain", "--connect", secureAddr}, "use --secure"},
		{[]string{"client", "--connect", plainAddr}, "use --plain"},
	} {
		_, stderr, code := b.run(t, "hi\n", tc.args...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, stderr)
		}
	}
}

// TestUsageIsInREADME keeps the README's usage blocks the real -h output.
func TestUsageIsInREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"chat": usage, "chat relay": relayUsage, "chat bench": benchUsage} {
		if !strings.Contains(string(readme), strings.TrimRight(text, "\n")) {
			t.Errorf("README.md does not carry the usage of %s; paste the output of %s -h", name, name)
		}
	}
}

func TestReadTypedLine(t *testing.T) {
	long := strings.Repeat("x", 3*maxTypedLine)
	br := bufio.NewReaderSize(strings.NewReader("hi\r\n"+long+"\nafter\nlast"), 16)
	for _, want := range []struct {
		line string
		eof  bool
	}{{"hi\r", false}, {long[:maxTypedLine], false}, {"after", false}, {"last", true}} {
		got, err := readTypedLine(br)
		if got != want.line || (err == io.EOF) != want.eof || (err != nil && err != io.EOF) {
			t.Fatalf("got %d bytes %.10q, %v; want %.10q", len(got), got, err, want.line)
		}
	}
}

// TestThrownOutExitsNonZero: a client the server disconnects exits 1 and
// says why, even when its input had ended and it was on its way out.
func TestThrownOutExitsNonZero(t *testing.T) {
	b := buildChat(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a plain server that throws every member out
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(cliDeadline))
			fmt.Fprintln(c, chat.Banner)
			bufio.NewReader(c).ReadString('\n')
			fmt.Fprintln(c, "* error: you were disconnected: bad record")
			c.Close()
		}
	}()
	for _, stdin := range []string{"hi\n", ""} {
		_, stderr, code := b.run(t, stdin, "client", "--plain", "--connect", ln.Addr().String(), "--name", "alice")
		if code != 1 || !strings.Contains(stderr, "chat: error: the server disconnected this client: bad record") {
			t.Errorf("stdin %q: exit %d, stderr %q", stdin, code, stderr)
		}
	}
}

func TestKeyAndListenErrorsHint(t *testing.T) {
	b := buildChat(t)
	missingDir := filepath.Join(b.dir, "no", "such", "dir", "k.pem")
	_, stderr, code := b.run(t, "", "server", "--listen", "127.0.0.1:0", "--key", missingDir)
	if code != 1 || !strings.Contains(stderr, "the directory for --key must exist") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(b.dir, "no")); !os.IsNotExist(err) {
		t.Fatal("a directory was made for a --key path")
	}
	// A bad address leaves no key behind.
	newKey := filepath.Join(b.dir, "new.key")
	_, stderr, code = b.run(t, "", "server", "--listen", "127.0.0.1:99999", "--key", newKey)
	if code != 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(newKey); !os.IsNotExist(err) {
		t.Fatal("a key was made although the server could not listen")
	}
	addr, _, _, _ := b.server(t, "--plain")
	_, stderr, _ = b.run(t, "", "server", "--plain", "--listen", addr)
	if !strings.Contains(stderr, "another server is running there") {
		t.Fatalf("address in use: %s", stderr)
	}
	// 9001 is the relay's default port: the hint must not send a second
	// server there.
	if strings.Contains(stderr, "9001") || !strings.Contains(stderr, "--listen 127.0.0.1:9100") {
		t.Errorf("address in use hint: %s", stderr)
	}
}

// TestPinMismatchSaysChatOnce: the protocol package's "chat: " prefix is
// not repeated inside "chat: error: ".
func TestPinMismatchSaysChatOnce(t *testing.T) {
	b := buildChat(t)
	addr, _, _, _ := b.server(t, "--key", filepath.Join(b.dir, "server.key"))
	other := "SHA256:" + strings.Repeat("A", 43)
	_, stderr, code := b.run(t, "hi\n", "client", "--connect", addr, "--fingerprint", other, "--name", "alice")
	first, _, _ := strings.Cut(stderr, "pinned:")
	first = strings.Join(strings.Fields(first), " ")
	if code != 1 || !strings.Contains(first, "the server's fingerprint does not match --fingerprint") || strings.Count(first, "chat:") != 1 {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}
