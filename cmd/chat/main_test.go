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
	"strings"
	"syscall"
	"testing"
	"time"

	"chatlab/protocol/chat"
)

// cliDeadline bounds every command these tests run.
const cliDeadline = 20 * time.Second

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

func TestUsageAndBadArguments(t *testing.T) {
	b := buildChat(t)
	_, stderr, code := b.run(t, "", "-h")
	if code != 0 || stderr != usage {
		t.Errorf("-h: exit %d, stderr %q", code, stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "chat: error: no subcommand"},
		{[]string{"serve"}, `chat: error: unknown subcommand "serve"`},
		{[]string{"server", "--plain", "--secure"}, "chat: error: --plain and --secure both given"},
		{[]string{"client", "--fingerprint", "abc"}, `--fingerprint "abc" is not a fingerprint`},
		{[]string{"client", "--fingerprint", "SHA256:..."}, "43 characters after SHA256:"},
		{[]string{"client", "--name", "bad!"}, "chat: hint: for example --name alice"},
		{[]string{"server", "--listen", "127.0.0.1:99999"}, "a port from 1 to 65535"},
		{[]string{"client", "extra"}, `unexpected argument "extra"`},
	} {
		_, stderr, code := b.run(t, "", tc.args...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, stderr, tc.want)
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
	if code != 1 || !strings.Contains(stderr, "REFUSING TO CONNECT") || !strings.Contains(stderr, "man in the middle") || !strings.Contains(stderr, "delete line 1 of "+known) {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
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
}
