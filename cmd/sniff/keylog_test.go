package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needCapture skips a test that captures live without the permission,
// and fails it under CI, which runs as root.
func needCapture(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI runs as root; this test captures live")
	}
	t.Skip("live capture needs root or CAP_NET_RAW")
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// TestKeyLogFromARealChat runs a real chat server and client with
// CHATLAB_KEYLOGFILE set, captures their session with a real sniff, and
// reads the capture back: with --keylog and nothing else the message
// shows, without it it does not; written as pcapng, the decrypted
// message is the packet's comment, as tshark shows it.
func TestKeyLogFromARealChat(t *testing.T) {
	needCapture(t)
	dir := t.TempDir()
	sniffBin := buildSniff(t)
	chatBin := filepath.Join(dir, "chat")
	if out, err := exec.Command("go", "build", "-o", chatBin, "../chat").CombinedOutput(); err != nil {
		t.Fatalf("build chat: %v\n%s", err, out)
	}
	port := freePort(t)
	addr := "127.0.0.1:" + port
	keys := filepath.Join(dir, "keys.log")
	capture := filepath.Join(dir, "chat.pcap")
	env := append(os.Environ(), "NO_COLOR=1", "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "CHATLAB_KEYLOGFILE="+keys)

	// The sniffer first, and only once it listens the chat.
	sn := exec.Command(sniffBin, "-i", "lo", "-w", capture, "-q", "port", port)
	sn.Env = env
	snErr, _ := sn.StderrPipe()
	if err := sn.Start(); err != nil {
		t.Fatal(err)
	}
	defer sn.Process.Kill()
	waitLine(t, snErr, "listening on lo")
	var snLog strings.Builder
	snDone := make(chan struct{})
	go func() { io.Copy(&snLog, snErr); close(snDone) }()

	srv := exec.Command(chatBin, "server", "--secure", "--listen", addr, "--key", filepath.Join(dir, "server.key"))
	srv.Env = env
	srvErr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	waitLine(t, srvErr, "fingerprint")
	go io.Copy(io.Discard, srvErr)

	const secret = "the vault code is 1234"
	cl := exec.Command(chatBin, "client", "--secure", "--connect", addr, "--name", "alice")
	cl.Env = env
	in, _ := cl.StdinPipe()
	clOut, _ := cl.StdoutPipe()
	cl.Stderr = io.Discard
	if err := cl.Start(); err != nil {
		t.Fatal(err)
	}
	defer cl.Process.Kill()
	waitLine(t, clOut, "you are alice") // the session is up
	go io.Copy(io.Discard, clOut)
	io.WriteString(in, secret+"\n")
	in.Close() // the client sends what it read, then leaves
	if err := cl.Wait(); err != nil {
		t.Fatalf("client: %v", err)
	}
	srv.Process.Signal(os.Interrupt)
	srv.Wait()
	sn.Process.Signal(os.Interrupt)
	<-snDone
	if err := sn.Wait(); err != nil {
		t.Fatalf("sniff: %v\n%s", err, snLog.String())
	}
	if fi, err := os.Stat(capture); err != nil || fi.Size() < 1000 {
		t.Fatalf("the capture is too small (%v): sniff said\n%s", err, snLog.String())
	}
	log, err := os.ReadFile(keys)
	if err != nil || !strings.HasPrefix(string(log), "CHATLAB_SESSION ") {
		t.Fatalf("key log %q: %v", log, err)
	}

	with, errs, code := runSniff(t, sniffBin, "-r", capture, "--follow", "--keylog", keys)
	if code != 0 || !strings.Contains(with, `opened with --keylog: message "`+secret+`"`) {
		t.Errorf("with the key log (exit %d, %s):\n%s", code, errs, with)
	}
	without, _, _ := runSniff(t, sniffBin, "-r", capture, "--follow")
	if strings.Contains(without, secret) {
		t.Errorf("without the key log the message shows:\n%s", without)
	}

	annotated := filepath.Join(dir, "annotated.pcapng")
	if _, errs, code := runSniff(t, sniffBin, "-r", capture, "--keylog", keys, "-w", annotated); code != 0 {
		t.Fatalf("writing %s: exit %d: %s", annotated, code, errs)
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark is missing; .ci/run installs it")
		}
		t.Skip("tshark is not installed")
	}
	out, err := exec.Command(tshark, "-r", annotated, "-T", "fields", "-e", "frame.comment").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), secret) {
		t.Errorf("tshark's frame.comment lacks the decrypted message:\n%s", out)
	}
}

// waitLine reads r until a line contains want, within sniffDeadline.
func waitLine(t *testing.T, r io.Reader, want string) {
	t.Helper()
	found := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if strings.Contains(sc.Text(), want) {
				found <- true
				return
			}
		}
		found <- false
	}()
	select {
	case ok := <-found:
		if !ok {
			t.Fatalf("the output ended without %q", want)
		}
	case <-time.After(sniffDeadline):
		t.Fatalf("no %q within %v", want, sniffDeadline)
	}
}
