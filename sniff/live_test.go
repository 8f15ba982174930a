package sniff

import (
	"chatlab/sniff/event"

	"bytes"
	"context"
	"io"
	"net"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"chatlab/protocol"
	"chatlab/sniff/filter"
)

// liveTimeout bounds every live test; loopback traffic takes milliseconds.
const liveTimeout = 2 * time.Minute

// needCapture skips a test that needs a live capture when this process
// may not capture, but fails it in CI, which runs as root.
func needCapture(t *testing.T) {
	t.Helper()
	if err := CanCapture("lo"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("live capture must run in CI: %v", err)
		}
		t.Skipf("no live capture: %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe to read while Run writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(liveTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runChat runs one conversation on a fresh 127.0.0.1:0 listener, plain or
// secure, and returns the server's port when both sides have closed.
func runChat(t *testing.T, ln net.Listener, secure bool) {
	t.Helper()
	key := loadTestKey(t)
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		var mc protocol.MessageConn = protocol.NewPlainConn(c)
		banner := "* welcome to chatlab (plain mode)"
		if secure {
			if mc, err = protocol.Server(c, protocol.ServerConfig{Key: key}); err != nil {
				errc <- err
				return
			}
			banner = "* welcome to chatlab (secure mode)"
		}
		if err := mc.WriteMessages(banner); err != nil {
			errc <- err
			return
		}
		name, err := mc.ReadMessage()
		if err == nil {
			var text string
			text, err = mc.ReadMessage()
			if err == nil {
				err = mc.WriteMessages(name + ": " + text)
			}
		}
		errc <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var mc protocol.MessageConn = protocol.NewPlainConn(c)
	if secure {
		if mc, _, err = protocol.Client(c, protocol.ClientConfig{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mc.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	if err := mc.WriteMessages("alice", "hello bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	c.Close()
}

var portRE = regexp.MustCompile(`:\d+\b`)

// liveRun captures one conversation on lo, writing it with Dump, and
// returns the printed output and the pcap.
func liveRun(t *testing.T, secure bool, cfg Config) (string, []byte) {
	needCapture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	f, err := filter.Parse([]string{"port", strconv.Itoa(port)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), liveTimeout)
	defer cancel()
	src, link, err := OpenLive(ctx, "lo", f)
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	var dump bytes.Buffer
	cfg.Out, cfg.Dump, cfg.Live, cfg.LineBuffered, cfg.Filter = &out, &dump, true, true, f
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, src, link, cfg)
		done <- err
	}()
	runChat(t, ln, secure)
	// Both FINs and the last ACK: the whole connection has been seen.
	waitFor(t, func() string { return "the connection's end in:\n" + out.String() }, func() bool {
		s := out.String()
		return strings.Count(s, "F.]") >= 2
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return out.String(), dump.Bytes()
}

func TestLivePlain(t *testing.T) {
	out, pcap := liveRun(t, false, Config{})
	// Each packet once: the outgoing copies on lo are dropped.
	for _, want := range []string{"[S]", "[S.]", `plain name "alice"`, `plain message "hello bob"`, `plain chat from "alice" text "hello bob"`} {
		if n := strings.Count(out, want); n != 1 {
			t.Errorf("%q printed %d times, want once:\n%s", want, n, out)
		}
	}
	// What -w wrote reads back with -r to the same segments.
	again, _ := runFile(t, pcap, Config{Location: time.Local})
	headers := func(s string) int { return strings.Count(s, " → ") }
	if headers(again) != headers(out) {
		t.Errorf("-r of the -w file shows %d segments, the capture %d", headers(again), headers(out))
	}
	follow, _ := runFile(t, pcap, Config{Follow: true})
	checkGolden(t, "live-plain.follow", portRE.ReplaceAllString(follow, ":PORT"))
}

func TestLiveSecureWithKey(t *testing.T) {
	out, pcap := liveRun(t, true, Config{Key: loadTestKey(t)})
	for _, want := range []string{"record 1 hello: CLAB", "record 2 key exchange:", `opened with --key: name "alice"`, `opened with --key: chat from "alice" text "hello bob"`} {
		if !strings.Contains(out, want) {
			t.Errorf("live output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "IV reuse") {
		t.Errorf("the default suite reused a nonce:\n%s", out)
	}
	_, stats := runFile(t, pcap, Config{Stats: true})
	if len(stats) != 1 || stats[0].Proto != event.ProtoSecure || stats[0].Entropy < 5 {
		t.Errorf("stats of the -w file: %+v", stats)
	}
}

// TestLiveStopsItsGoroutine: once the capture's context ends, it hands
// over what it had captured and ends, and its socket goes too, with no
// packet needed to wake it.
func TestLiveStopsItsGoroutine(t *testing.T) {
	needCapture(t)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	src, _, err := OpenLive(ctx, "lo", nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	// What the kernel had already captured still comes, then the end.
	deadline := time.Now().Add(liveTimeout)
	for {
		_, _, err := src.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("after cancel: %v, want the captured packets, then io.EOF", err)
		}
	}
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after the capture stopped", before, runtime.NumGoroutine())
		}
		time.Sleep(time.Millisecond)
	}
}
