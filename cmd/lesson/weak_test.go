package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// weakDeadline bounds every wait of the weak client's terminal test: a
// hang, not a slow machine.
const weakDeadline = 2 * time.Minute

// TestWeakClientEditsLines types into the lesson's weak client on a
// pseudo-terminal (tmux): a line, then up-arrow and Enter, as lesson 3's
// exercise has students send the same text twice. The other member gets
// the line twice and never an escape sequence.
func TestWeakClientEditsLines(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		mustRun(t, "tmux is not installed")
	}
	bin := buildLesson(t)
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := append(os.Environ(), "NO_COLOR=1", "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))

	srv := exec.Command(bin, "server", "--weak", "fixed-iv", "--listen", addr)
	srv.Env = env
	srvErr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	started := make(chan error, 1)
	go func() { started <- waitFor(srvErr, "weak server on") }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("the weak server did not start: %v", err)
		}
	case <-time.After(weakDeadline):
		t.Fatal("the weak server did not start")
	}

	bob := exec.Command(bin, "client", "--weak", "fixed-iv", "--connect", addr, "--name", "bob")
	bob.Env = env
	bobIn, _ := bob.StdinPipe()
	bobOut, _ := bob.StdoutPipe()
	if err := bob.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bobIn.Close(); bob.Process.Kill(); bob.Wait() })
	heard := make(chan string, 64)
	go func() {
		defer close(heard)
		sc := bufio.NewScanner(bobOut)
		for sc.Scan() {
			heard <- sc.Text()
		}
	}()
	next := func(want string) {
		t.Helper()
		timer := time.NewTimer(weakDeadline)
		defer timer.Stop()
		for {
			select {
			case l, ok := <-heard:
				if !ok {
					t.Fatalf("bob's client ended before %q", want)
				}
				if strings.Contains(l, "\x1b") || strings.Contains(l, "[A") {
					t.Fatalf("bob received an escape sequence: %q", l)
				}
				if l == want {
					return
				}
			case <-timer.C:
				t.Fatalf("bob never heard %q", want)
			}
		}
	}
	next("* you are bob; in the room: bob; /help lists commands")

	sock := filepath.Join(dir, "tmux.sock")
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %q: %v\n%s", args, err, out)
		}
		return string(out)
	}
	args := []string{"new-session", "-d", "-s", "weak", "-x", "100", "-y", "30", "--", "env", "NO_COLOR=1",
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), bin, "client", "--weak", "fixed-iv", "--connect", addr, "--name", "alice"}
	tmux(args...)
	t.Cleanup(func() { exec.Command("tmux", "-S", sock, "kill-server").Run() })
	next("* alice joined")
	tmux("send-keys", "-t", "weak", "-l", "attack at dawn")
	tmux("send-keys", "-t", "weak", "Enter")
	next("alice: attack at dawn")
	tmux("send-keys", "-t", "weak", "Up")
	tmux("send-keys", "-t", "weak", "Enter")
	next("alice: attack at dawn")
	tmux("send-keys", "-t", "weak", "C-d")
	next("* alice left")
}
