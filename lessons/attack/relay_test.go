package attack

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// testTimeout bounds a wait that should end at once; reaching it means
// the relay is stuck, not slow.
const testTimeout = 2 * time.Minute

// tempError is an accept error that says it is temporary, as EMFILE does.
type tempError struct{}

func (tempError) Error() string   { return "too many open files" }
func (tempError) Timeout() bool   { return false }
func (tempError) Temporary() bool { return true }

// failingListener returns err from its first n Accepts (every Accept if n
// is negative), then accepts for real. It tells failed about each failure.
type failingListener struct {
	net.Listener
	err    error
	failed chan struct{}

	mu sync.Mutex
	n  int
}

func (l *failingListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	fail := l.n != 0
	if l.n > 0 {
		l.n--
	}
	l.mu.Unlock()
	if fail {
		select {
		case l.failed <- struct{}{}:
		default:
		}
		return nil, l.err
	}
	return l.Listener.Accept()
}

func (l *failingListener) left() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// upstream is a server that accepts connections and holds them open.
func upstream(t *testing.T) string {
	t.Helper()
	ln := listen(t)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// serve starts r on ln and returns Serve's result channel.
func serve(r *Relay, ln net.Listener) <-chan error {
	served := make(chan error, 1)
	go func() { served <- r.Serve(ln) }()
	return served
}

func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("gave up waiting for %s", what)
		panic("unreachable")
	}
}

func TestServeRetriesTemporaryAcceptError(t *testing.T) {
	const failures = 3
	connected := make(chan struct{}, 1)
	var out strings.Builder
	r, err := New(Config{
		Upstream: upstream(t),
		Mode:     chat.Plain,
		Out:      NewSyncWriter(&out),
		Observe: func(e Event) {
			if e.Kind == Connected {
				connected <- struct{}{}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln := &failingListener{Listener: listen(t), err: tempError{}, n: failures, failed: make(chan struct{}, failures)}
	served := serve(r, ln)

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wait(t, connected, "the relay to connect a client after temporary accept errors")
	if n := ln.left(); n != 0 {
		t.Errorf("%d temporary errors were never returned", n)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v while the listener still worked", err)
	default:
	}
	r.Close()
	if err := wait(t, served, "Serve to return after Close"); !errors.Is(err, ErrRelayClosed) {
		t.Errorf("Serve = %v after Close, want ErrRelayClosed", err)
	}
	if got := strings.Count(out.String(), "too many open files; retrying in"); got != failures {
		t.Errorf("the report names %d retries, want %d:\n%s", got, failures, out.String())
	}
}

func TestServeEndsOnPermanentAcceptError(t *testing.T) {
	r, err := New(Config{Upstream: upstream(t), Mode: chat.Plain})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	broken := errors.New("listener is broken")
	ln := &failingListener{Listener: listen(t), err: broken, n: -1, failed: make(chan struct{}, 1)}
	if err := wait(t, serve(r, ln), "Serve to give up"); !errors.Is(err, broken) || errors.Is(err, ErrRelayClosed) {
		t.Errorf("Serve = %v, want the listener's error", err)
	}
}

func TestCloseEndsAcceptBackoff(t *testing.T) {
	r, err := New(Config{Upstream: upstream(t), Mode: chat.Plain})
	if err != nil {
		t.Fatal(err)
	}
	ln := &failingListener{Listener: listen(t), err: tempError{}, n: -1, failed: make(chan struct{})}
	served := serve(r, ln)
	// The second failure means Serve retried the first, so it backs off.
	for range 2 {
		wait(t, ln.failed, "an accept")
	}
	r.Close()
	if err := wait(t, served, "Serve to return after Close"); !errors.Is(err, ErrRelayClosed) {
		t.Errorf("Serve = %v after Close, want ErrRelayClosed", err)
	}
}

// TestSuitesNeedSwapKey: only the man in the middle negotiates a suite.
func TestSuitesNeedSwapKey(t *testing.T) {
	_, err := New(Config{Upstream: "127.0.0.1:9000", Mode: chat.Secure, Suites: []protocol.CipherSuite{protocol.AES128GCM()}})
	if err == nil {
		t.Error("New accepted suites without SwapKey")
	}
}
