package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const plainPCAP = "../../sniff/testdata/plain.pcap"

// TestHelpAndVersion: -h prints the usage on standard output with exit
// 0, so that "sniff -h | less" shows it; --version says what was built.
func TestHelpAndVersion(t *testing.T) {
	bin := buildSniff(t)
	for _, arg := range []string{"-h", "--help"} {
		out, errs, code := runSniff(t, bin, arg)
		if code != 0 || !strings.HasPrefix(out, "Usage: sniff") || errs != "" {
			t.Errorf("%s: exit %d, stdout %.40q, stderr %q", arg, code, out, errs)
		}
	}
	out, _, code := runSniff(t, bin, "--version")
	if code != 0 || !strings.HasPrefix(out, "sniff ") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
	out, _, code = runSniff(t, bin, "-D")
	if code != 0 || !strings.Contains(out, "lo [") {
		t.Errorf("-D: exit %d, %q", code, out)
	}
}

// TestDumpFlags reads the plain capture with each of tcpdump's dump
// flags and checks the dumps: -X has hex and ASCII, -x hex alone, -A the
// characters alone; -q shows no dissection.
func TestDumpFlags(t *testing.T) {
	bin := buildSniff(t)
	for _, tc := range []struct {
		flag          string
		want, notWant []string
	}{
		{"-X", []string{"|.", `plain message "hello bob`}, nil},
		{"-x", []string{`plain message "hello bob`}, []string{"|"}},
		{"-A", []string{"hello bob, the password is hunter2"}, nil},
		{"-q", []string{"[P.] seq"}, []string{"plain message"}},
	} {
		out, errs, code := runSniff(t, bin, "-r", plainPCAP, tc.flag)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.flag, code, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%.1500s", tc.flag, w, out)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(out, w) {
				t.Errorf("%s: output has %q:\n%.1500s", tc.flag, w, out)
			}
		}
	}
}

// TestWriteToStdoutReadFromStdin pipes sniff -w - into sniff -r -: the
// packets go through whole, and the writer prints nothing else there.
func TestWriteToStdoutReadFromStdin(t *testing.T) {
	bin := buildSniff(t)
	want, _, _ := runSniff(t, bin, "-r", plainPCAP)
	w := exec.Command(bin, "-r", plainPCAP, "-w", "-")
	r := exec.Command(bin, "-r", "-")
	w.Env = append(os.Environ(), "NO_COLOR=1")
	r.Env = w.Env
	pipe, err := w.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Stdin = pipe
	var out bytes.Buffer
	r.Stdout = &out
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	if err := w.Wait(); err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Errorf("through the pipe:\n%s\ndirectly:\n%s", out.String(), want)
	}
}

// TestWebFromFile serves a capture's page with --web: the URL is printed,
// the event stream carries the plain chat's text, and Ctrl-C ends it.
func TestWebFromFile(t *testing.T) {
	bin := buildSniff(t)
	cmd := exec.Command(bin, "-r", plainPCAP, "--web", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	url := ""
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		if u, ok := strings.CutPrefix(line, "sniff: the page is at "); ok {
			url = u
		}
		if strings.Contains(line, "the page stays up") {
			break
		}
	}
	if url == "" {
		t.Fatal("no URL printed")
	}
	go io.Copy(io.Discard, stderr)
	resp, err := http.Get(strings.TrimSuffix(url, "/") + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ev := bufio.NewScanner(resp.Body)
	ev.Buffer(nil, 1<<20)
	found := false
	for ev.Scan() {
		if strings.Contains(ev.Text(), "hello bob, the password is hunter2") {
			found = true
			break
		}
	}
	if !found {
		t.Fatal("the event stream never carried the plain message")
	}
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Errorf("after Ctrl-C: %v", err)
	}
}

// TestQuietCopy: -r F -w OUT -q shows nothing and copies every packet,
// which a second reading then shows exactly as the first file.
func TestQuietCopy(t *testing.T) {
	bin := buildSniff(t)
	out := t.TempDir() + "/copy.pcap"
	stdout, stderr, code := runSniff(t, bin, "-r", plainPCAP, "-w", out, "-q")
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	want, _, _ := runSniff(t, bin, "-r", plainPCAP)
	got, _, _ := runSniff(t, bin, "-r", out)
	if got != want || want == "" {
		t.Errorf("the copy reads as:\n%s\nthe original as:\n%s", got, want)
	}
}

// TestAnnotatedRecovery writes the original program's capture as pcapng
// and reads the comments back with tshark: each frame carries what the
// IV reuse recovery reads from it without the key.
func TestAnnotatedRecovery(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark is missing; .ci/run installs it")
		}
		t.Skip("tshark is not installed")
	}
	bin := buildSniff(t)
	out := t.TempDir() + "/legacy.pcapng"
	if _, errs, code := runSniff(t, bin, "-r", "../../sniff/testdata/legacy.pcap", "-w", out, "-q"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	comments, err := exec.Command(tshark, "-r", out, "-T", "fields", "-e", "frame.comment").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`recovered without the key (IV reuse): name "alice" text "the meeting is at noon"`,
		`recovered without the key (IV reuse): name "bob" text "see you"`,
		`warning: IV reuse: frame 2 has the IV of frame 1`,
	} {
		if !strings.Contains(string(comments), want) {
			t.Errorf("the comments lack %q:\n%s", want, comments)
		}
	}
}
