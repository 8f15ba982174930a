package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"chatlab/lessons"
)

// lessonTimeout bounds one "lesson N --auto" run in these tests.
const lessonTimeout = 90 * time.Second

// nobody is the unprivileged user the lessons run as when the tests are
// root.
const nobody = "65534"

// buildLesson builds the lesson command into a directory every user can
// read and run.
func buildLesson(t *testing.T) string {
	t.Helper()
	dir := sharedDir(t, 0o755)
	bin := filepath.Join(dir, "lesson")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// sharedDir makes a directory that another user can reach: t.TempDir's
// parent is private to the user running the tests.
func sharedDir(t *testing.T, mode os.FileMode) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "chatlab-lesson-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	return dir
}

// mustRun skips, or fails under CI=true, when a path cannot be tested.
func mustRun(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s", why)
	}
	t.Skip(why)
}

// runLessonCmd runs "lesson N --auto" and returns its output.
func runLessonCmd(t *testing.T, argv []string, env []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), lessonTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out.String())
	}
	return out.String()
}

// TestEveryLessonAsOrdinaryUser runs each lesson with --auto as a user
// without capture permission: it must pass, saying once that it watches
// through the relay tap.
func TestEveryLessonAsOrdinaryUser(t *testing.T) {
	bin := buildLesson(t)
	home := sharedDir(t, 0o777)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + home, "TMPDIR=" + home, "NO_COLOR=1"}
	var prefix []string
	if os.Geteuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			mustRun(t, "running as root and setpriv (util-linux) is missing, so the lessons cannot run as an ordinary user")
		}
		prefix = []string{setpriv, "--reuid=" + nobody, "--regid=" + nobody, "--clear-groups", "--"}
	}
	for _, l := range lessons.All() {
		t.Run(fmt.Sprint(l.Number), func(t *testing.T) {
			out := runLessonCmd(t, append(prefix, bin, fmt.Sprint(l.Number), "--auto"), env)
			n := strings.Count(out, lessons.NoCaptureNotice)
			if l.Watches && n != 1 {
				t.Errorf("the no-capture notice appears %d times, want once\n%s", n, out)
			}
		})
	}
}

// TestEveryLessonWithLiveCapture runs each lesson as root, capturing live.
func TestEveryLessonWithLiveCapture(t *testing.T) {
	if os.Geteuid() != 0 {
		mustRun(t, "live capture needs root; not root")
	}
	bin := buildLesson(t)
	env := append(os.Environ(), "NO_COLOR=1")
	for _, l := range lessons.All() {
		t.Run(fmt.Sprint(l.Number), func(t *testing.T) {
			out := runLessonCmd(t, []string{bin, fmt.Sprint(l.Number), "--auto", "--capture"}, env)
			if strings.Contains(out, lessons.NoCaptureNotice) {
				t.Errorf("the no-capture notice appeared as root")
			}
		})
	}
}

// TestUsageAndErrors: help goes to stdout with exit 0 on the command and
// each subcommand; a mistake is said once on stderr with exit 2.
func TestUsageAndErrors(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{nil, 0, "1  Eavesdropping", ""},
		{[]string{"-h"}, 0, usage, ""},
		{[]string{"--help"}, 0, usage, ""},
		{[]string{"help"}, 0, usage, ""},
		{[]string{"2", "--auto", "-h"}, 0, usage, ""},
		{[]string{"server", "-h"}, 0, "Usage: lesson server --weak NAME", ""},
		{[]string{"server", "--help"}, 0, "Usage: lesson server --weak NAME", ""},
		{[]string{"client", "-h"}, 0, "Usage: lesson client --weak NAME", ""},
		{[]string{"help", "client"}, 0, "Usage: lesson client --weak NAME", ""},
		{[]string{"--version"}, 0, "lesson ", ""},
		{[]string{"99"}, 2, "", "lesson: error: there is no lesson 99; the lessons are 1 to 8\nlesson: hint: \"lesson\" lists them\n"},
		{[]string{"x"}, 2, "", `lesson: hint: "lesson" lists them`},
		{[]string{"1", "2"}, 2, "", `lesson: error: unexpected argument "2"`},
		{[]string{"1", "--atuo"}, 2, "", "lesson: error: unknown flag --atuo\nlesson: hint: did you mean --auto?"},
		{[]string{"1", "--tap", "--capture"}, 2, "", "--tap and --capture both given"},
		{[]string{"server"}, 2, "", "--weak is required"},
		{[]string{"server", "--weak", "cbc", "--listen", "9000"}, 2, "", "lesson: error: --listen 9000: the host is missing"},
		{[]string{"client", "--bogus"}, 2, "", `lesson: hint: "lesson client -h" lists the flags`},
		{[]string{"client", "--weak", "nope"}, 2, "", "lesson: hint: --weak takes fixed-iv or cbc"},
		{[]string{"client", "--weak", "fixed-iv", "--connect", "127.0.0.1:1"}, 1, "", "lesson: WARNING: a deliberately weak"},
		{[]string{"client", "--weak", "cbc", "--connect", "9000"}, 2, "", "--connect 9000: the host is missing"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, strings.NewReader(""), &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("lesson %q: exit %d, stdout %.80q, stderr %q", tc.args, code, stdout.String(), stderr.String())
		}
		for _, line := range strings.Split(stdout.String()+stderr.String(), "\n") {
			if n := len([]rune(line)); n > 100 {
				t.Errorf("lesson %q: a line of %d columns: %q", tc.args, n, line)
			}
		}
		if tc.code == 0 && stderr.Len() > 0 {
			t.Errorf("lesson %q: exit 0 but stderr %q", tc.args, stderr.String())
		}
		if tc.code != 0 && (strings.Count(stderr.String(), "lesson: error:") != 1 || strings.Contains(stderr.String(), "Usage") ||
			strings.Contains(stderr.String(), "lessons:")) {
			t.Errorf("lesson %q: not said once, in the command's words: %q", tc.args, stderr.String())
		}
	}
}

// TestSignalStopsLessonAtPause starts a lesson whose stdin stays open, so
// it waits at its first pause, and sends it a signal there: it must say
// "lesson: stopped", exit 130 and leave no scratch directory behind.
func TestSignalStopsLessonAtPause(t *testing.T) {
	bin := buildLesson(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			tmp := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), lessonTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "8", "--tap")
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "NO_COLOR=1")
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if err := waitFor(stdout, "Enter: next"); err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("no pause: %v\n%s", err, stderr.String())
			}
			if scratch, _ := filepath.Glob(filepath.Join(tmp, "chatlab-lesson-*")); len(scratch) != 1 {
				t.Errorf("at the pause, the scratch directories are %q, want one", scratch)
			}
			go io.Copy(io.Discard, stdout)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			if ctx.Err() != nil {
				t.Fatalf("still running at the test's deadline after %v", sig)
			}
			if code := cmd.ProcessState.ExitCode(); code != 130 {
				t.Errorf("exit status %d (%v), want 130", code, err)
			}
			if !strings.Contains(stderr.String(), "lesson: stopped") {
				t.Errorf("stderr %q does not say the lesson stopped", stderr.String())
			}
			if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) > 0 {
				t.Errorf("left behind: %q", left)
			}
		})
	}
}

// waitFor reads r until s has appeared in it.
func waitFor(r io.Reader, s string) error {
	var seen []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(seen, []byte(s)) {
		n, err := r.Read(buf)
		seen = append(seen, buf[:n]...)
		if err != nil {
			return fmt.Errorf("%w after %q", err, seen)
		}
	}
	return nil
}
