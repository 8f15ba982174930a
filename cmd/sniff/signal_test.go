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
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"chatlab/sniff"
)

// needLive skips a test that captures when this process may not, but
// fails it in CI, which runs as root.
func needLive(t *testing.T) {
	t.Helper()
	if err := sniff.CanCapture("lo"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("live capture must run in CI: %v", err)
		}
		t.Skipf("no live capture: %v", err)
	}
}

// countPackets reads a capture file whole and returns its packets, or
// an error if it is not valid to its end.
func countPackets(file string) (int, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	src, _, err := sniff.OpenFile(f)
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		_, _, err := src.ReadPacketData()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("after %d packets: %w", n, err)
		}
		n++
	}
}

// exchange runs one TCP connection to ln with a few lines each way.
func exchange(t *testing.T, ln net.Listener) {
	t.Helper()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	for i := range 5 {
		if _, err := c.Write([]byte("hello " + strconv.Itoa(i) + "\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWriteSurvivesSignals kills a real sniff -w with SIGINT, SIGTERM and
// SIGHUP (a closed terminal), in pcap and pcapng: while it runs, the
// growing file already has the packets; after the signal it is complete
// and valid, and the drop report is on standard error.
func TestWriteSurvivesSignals(t *testing.T) {
	needLive(t)
	bin := buildSniff(t)
	dir := t.TempDir()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		for _, ext := range []string{"pcap", "pcapng"} {
			t.Run(sig.String()+"/"+ext, func(t *testing.T) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				file := filepath.Join(dir, strings.ReplaceAll(sig.String(), " ", "")+"."+ext)
				port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
				cmd := exec.Command(bin, "lo", "port", port, "-w", file)
				cmd.Env = append(os.Environ(), "NO_COLOR=1")
				cmd.Stdout = io.Discard
				stderr, err := cmd.StderrPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				timer := time.AfterFunc(sniffDeadline, func() { cmd.Process.Kill() })
				defer timer.Stop()
				var errText bytes.Buffer
				listening := make(chan bool, 1)
				ended := make(chan struct{})
				go func() {
					defer close(ended)
					sc := bufio.NewScanner(stderr)
					for sc.Scan() {
						if strings.Contains(sc.Text(), "listening on lo") {
							listening <- true
						}
						errText.WriteString(sc.Text() + "\n")
					}
				}()
				select {
				case <-listening:
				case <-ended:
					cmd.Wait()
					t.Fatalf("sniff did not start:\n%s", errText.String())
				}
				exchange(t, ln)
				// A handshake, 5 lines and 5 echoes with their ACKs, and
				// the close: at least 15 packets, in the file while
				// sniff still runs.
				// (The header may come a moment after the listening line.)
				deadline := time.Now().Add(sniffDeadline)
				seen, err := countPackets(file)
				for ; err != nil || seen < 15; seen, err = countPackets(file) {
					if time.Now().After(deadline) {
						t.Fatalf("the growing file holds %d packets (%v)", seen, err)
					}
					time.Sleep(10 * time.Millisecond)
				}
				cmd.Process.Signal(sig)
				<-ended
				if err := cmd.Wait(); err != nil {
					t.Fatalf("sniff after %v: %v\n%s", sig, err, errText.String())
				}
				if n, err := countPackets(file); err != nil || n < seen {
					t.Errorf("%d packets after %v (%v), %d seen while running", n, sig, err, seen)
				}
				for _, want := range []string{"packets captured", "packets received by filter", "0 packets dropped by kernel"} {
					if !strings.Contains(errText.String(), want) {
						t.Errorf("stderr lacks %q:\n%s", want, errText.String())
					}
				}
			})
		}
	}
}
