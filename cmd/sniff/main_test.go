package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sniffDeadline bounds every run of the binary.
const sniffDeadline = 2 * time.Minute

func buildSniff(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755) // the ordinary-user run must reach it
	bin := filepath.Join(dir, "sniff")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func runSniff(t *testing.T, name string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(sniffDeadline, func() { cmd.Process.Kill() })
	defer timer.Stop()
	cmd.Wait()
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

func TestUsageIsInREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), strings.TrimRight(usage, "\n")) {
		t.Fatal("README.md does not carry sniff's usage text; paste the output of sniff -h")
	}
}

func TestErrorsNameProblemAndFix(t *testing.T) {
	bin := buildSniff(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"-r", "/nonexistent.pcap"}, []string{"sniff: error: open /nonexistent.pcap", "sniff: hint: -r wants a pcap"}},
		{[]string{"-r", "main.go"}, []string{"sniff: error:", "sniff: hint:"}},
		{[]string{"lo", "port", "9x"}, []string{`port "9x" is not a number`, "sniff: hint: a filter looks like"}},
		{[]string{"lo", "port", "ssh"}, []string{`port names are not looked up`}},
		{[]string{"lo", "portt", "9000"}, []string{`word 1, "portt": unknown word`}},
		{[]string{"-c", "x"}, []string{"sniff: error:"}},
		{[]string{"-c", "0"}, []string{"-c wants a positive number of packets", "sniff: hint: leave -c out"}},
		{[]string{"-r", "../../sniff/testdata/plain.pcap", "udp"}, []string{`"udp": sniff shows TCP only`}},
		{[]string{"-r", "../../sniff/testdata/plain.pcap", "port 9000 or"}, []string{`"or" must join two conditions`}},
		{[]string{"nosuchif0", "port", "9000"}, []string{`"nosuchif0" is neither an interface`}},
	} {
		_, stderr, code := runSniff(t, bin, tc.args...)
		// A file that cannot be read is a failure (1); a mistake on the
		// command line is a usage error (2), as tcpdump and getopt have it.
		want := 2
		if tc.args[0] == "-r" && len(tc.args) == 2 {
			want = 1
		}
		if code != want {
			t.Errorf("%v: exit %d, want %d; stderr %q", tc.args, code, want, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr %q lacks %q", tc.args, stderr, w)
			}
		}
		if strings.Contains(stderr, "sniff: error: sniff:") {
			t.Errorf("%v: doubled prefix: %q", tc.args, stderr)
		}
	}
}

func TestReadsCapture(t *testing.T) {
	bin := buildSniff(t)
	stdout, stderr, code := runSniff(t, bin, "-r", "../../sniff/testdata/plain.pcap", "--stats")
	if code != 0 || !strings.Contains(stdout, "plain") || !strings.Contains(stdout, "entropy") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if strings.Contains(stdout, "\x1b[") {
		t.Fatal("colour in a pipe")
	}
}

// TestNoPermissionOneLine runs a live capture as an ordinary user: one
// error line naming root or CAP_NET_RAW, a hint, exit 1.
func TestNoPermissionOneLine(t *testing.T) {
	bin := buildSniff(t)
	var args []string
	if os.Geteuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("setpriv is missing; CI needs it to test capture without permission")
			}
			t.Skip("setpriv not found: cannot drop root to test the no-permission path")
		}
		args = []string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", bin}
	} else {
		args = []string{bin}
	}
	_, stderr, code := runSniff(t, args[0], append(args[1:], "lo", "port", "9000")...)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != 1 || len(lines) != 2 || !strings.Contains(lines[0], "needs root or the CAP_NET_RAW capability") ||
		!strings.Contains(lines[1], "setcap cap_net_raw+ep") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
