package main

import (
	"bufio"
	"bytes"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// maxColumns is the widest line chat prints for people.
const maxColumns = 100

// checkWidth fails on each line of out wider than maxColumns.
func checkWidth(t *testing.T, what, out string) {
	t.Helper()
	for i, line := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(line); n > maxColumns {
			t.Errorf("%s, line %d: %d columns: %q", what, i+1, n, line)
		}
	}
}

// TestCommonOutputsFit100 runs chat's common outputs at COLUMNS=100: the
// usage of every subcommand, the mistakes people make, a server, plain
// and secure clients, and the relay's start. No line may be wider.
func TestCommonOutputsFit100(t *testing.T) {
	t.Setenv("COLUMNS", "100")
	b := buildChat(t)
	for _, args := range [][]string{
		{"-h"}, {"server", "-h"}, {"client", "-h"}, {"relay", "-h"}, {"bench", "-h"},
		{}, {"serve"}, {"client", "--conect", "x"}, {"client", "--connect", "9000"},
		{"client", "--fingerprint", "SHA256:..."}, {"client", "--plain", "--fingerprint", "SHA256:x"},
		{"server", "--listen", "127.0.0.1:99999"}, {"client", "--connect", "127.0.0.1:1", "--name", "alice"},
		{"relay", "--edit", "nonsense"},
	} {
		stdout, stderr, _ := b.run(t, "", args...)
		checkWidth(t, "chat "+strings.Join(args, " "), stdout+stderr)
	}

	for _, mode := range []string{"--plain", "--secure"} {
		addr, srvLog, stop := logServer(t, b, mode)
		known := filepath.Join(b.dir, "known")
		stdout, stderr, code := b.run(t, "hello\n/who\n/help\n", mode, "client", "--connect", addr, "--name", "alice", "--known", known)
		if mode == "--plain" {
			// Plain mode has no key to remember: --known is refused.
			stdout, stderr, code = b.run(t, "hello\n/who\n/help\n", mode, "client", "--connect", addr, "--name", "alice")
		}
		if code != 0 {
			t.Fatalf("%s client: exit %d\n%s", mode, code, stderr)
		}
		checkWidth(t, "chat client "+mode, stdout+stderr)
		if mode == "--secure" {
			// A second time, the key is remembered.
			stdout, stderr, _ = b.run(t, "", mode, "client", "--connect", addr, "--name", "bob", "--known", known)
			checkWidth(t, "chat client "+mode+" again", stdout+stderr)
		}

		relay := b.command("relay", mode, "--brief", "--listen", "127.0.0.1:0", "--upstream", addr)
		relay.Stdout = io.Discard
		rerr, err := relay.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := relay.Start(); err != nil {
			t.Fatal(err)
		}
		first, err := bufio.NewReader(rerr).ReadString('\n')
		if err != nil {
			t.Fatalf("relay: %v", err)
		}
		checkWidth(t, "chat relay "+mode, first)
		relay.Process.Kill()
		relay.Wait()

		stop()
		if !strings.Contains(srvLog.String(), "alice joined") || !strings.Contains(srvLog.String(), "shutting down") {
			t.Errorf("the server's log lacks the session:\n%s", srvLog.String())
		}
		checkWidth(t, "chat server "+mode, srvLog.String())
	}
}

// lockedBuffer is a bytes.Buffer for one writer and one reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// logServer starts a server that logs into a buffer, and waits for its
// address; stop ends it and waits for its last lines.
func logServer(t *testing.T, b chatBin, mode string) (addr string, log *lockedBuffer, stop func()) {
	t.Helper()
	log = &lockedBuffer{}
	cmd := b.command("server", mode, "--listen", "127.0.0.1:0", "--key", filepath.Join(b.dir, "server.key"))
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop = func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	listening := regexp.MustCompile(`server listening on (\S+)`)
	deadline := time.Now().Add(cliDeadline)
	for {
		if m := listening.FindStringSubmatch(log.String()); m != nil {
			return m[1], log, stop
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server gave no address:\n%s", log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
