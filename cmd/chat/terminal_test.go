package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mustRun skips, or fails under CI=true, when a path cannot be tested.
func mustRun(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s", why)
	}
	t.Skip(why)
}

// tmuxSession is a tmux server of the test's own (its own socket), with
// one session running a command on a pseudo-terminal.
type tmuxSession struct {
	t      *testing.T
	socket string
}

func startTmux(t *testing.T, dir string, env []string, argv ...string) tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		mustRun(t, "tmux is not installed")
	}
	s := tmuxSession{t: t, socket: filepath.Join(dir, "tmux.sock")}
	args := []string{"new-session", "-d", "-s", "chat", "-x", "100", "-y", "30", "--", "env"}
	args = append(append(args, env...), argv...)
	s.tmux(args...)
	t.Cleanup(func() { exec.Command("tmux", "-S", s.socket, "kill-server").Run() })
	return s
}

func (s tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %q: %v\n%s", args, err, out)
	}
	return string(out)
}

// keys types into the session, one tmux key name or literal text each.
func (s tmuxSession) keys(keys ...string) {
	s.tmux(append([]string{"send-keys", "-t", "chat"}, keys...)...)
}

// literal types text as it is, with no key names read into it.
func (s tmuxSession) literal(text string) { s.tmux("send-keys", "-t", "chat", "-l", text) }

func (s tmuxSession) screen() string { return s.tmux("capture-pane", "-p", "-t", "chat") }

// waitScreen polls the pane until it shows want, within cliDeadline.
func (s tmuxSession) waitScreen(want string) string {
	s.t.Helper()
	deadline := time.Now().Add(cliDeadline)
	for {
		sc := s.screen()
		if strings.Contains(sc, want) {
			return sc
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never showed %q:\n%s", want, sc)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLineEditingOnATerminal types into a client on a pseudo-terminal:
// a line, then up-arrow for it again, left-arrow into it, an insertion,
// Enter. Another member must receive exactly the edited lines, and never
// an escape sequence.
func TestLineEditingOnATerminal(t *testing.T) {
	b := buildChat(t)
	addr, _, _, _ := b.server(t, "--plain")

	bob := b.command("client", "--plain", "--connect", addr, "--name", "bob")
	bobIn, err := bob.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	bobOut, err := bob.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
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
	var s tmuxSession
	// next returns bob's next line that is not about himself.
	next := func() string {
		t.Helper()
		timer := time.NewTimer(cliDeadline)
		defer timer.Stop()
		for {
			select {
			case l, ok := <-heard:
				if !ok {
					t.Fatal("bob's client ended")
				}
				if strings.Contains(l, "\x1b") || strings.Contains(l, "[A") || strings.Contains(l, "[D") {
					t.Fatalf("bob received an escape sequence: %q", l)
				}
				if strings.HasPrefix(l, "* you are bob") || strings.HasPrefix(l, "* in the room") {
					continue
				}
				return l
			case <-timer.C:
				t.Fatalf("bob heard nothing more; alice's screen:\n%s", s.screen())
			}
		}
	}

	env := []string{"XDG_CONFIG_HOME=" + filepath.Join(b.dir, "config"), "NO_COLOR=1", "TERM=xterm"}
	s = startTmux(t, b.dir, env, b.path, "client", "--plain", "--connect", addr, "--name", "alice")
	if l := next(); l != "* alice joined" {
		t.Fatalf("bob heard %q, want alice joining", l)
	}
	s.waitScreen("you are alice")

	s.literal("hello world")
	s.keys("Enter")
	if l := next(); l != "alice: hello world" {
		t.Fatalf("bob heard %q", l)
	}
	// Up-arrow brings the line back; five left-arrows put the cursor
	// before "world"; the insertion goes there.
	s.keys("Up")
	s.waitScreen("> hello world")
	for range 5 {
		s.keys("Left")
	}
	s.literal("big ")
	s.keys("Enter")
	if l := next(); l != "alice: hello big world" {
		t.Fatalf("after up, left and an edit bob heard %q, want %q", l, "alice: hello big world")
	}
	// Keys with no meaning for a line (Home, a function key, down past the
	// newest line) are not sent as text either.
	s.keys("Down", "F5", "Home")
	s.literal("x")
	s.keys("End")
	s.literal("y")
	s.keys("Enter")
	if l := next(); l != "alice: xy" {
		t.Fatalf("bob heard %q, want %q", l, "alice: xy")
	}
	// What bob says reaches alice's screen without breaking her prompt.
	fmt.Fprintln(bobIn, "hi alice")
	sc := s.waitScreen("bob: hi alice")
	if !strings.Contains(sc, "> hello big world") {
		t.Errorf("alice's screen lost her own line:\n%s", sc)
	}
	// Ctrl-D on an empty line leaves the room.
	s.keys("C-d")
	if l := next(); l != "* alice left" {
		t.Fatalf("after Ctrl-D bob heard %q", l)
	}
}
