package chat

import (
	"errors"
	"net"
	"testing"
	"time"
)

// retryable is an accept error that says it is temporary, as EMFILE does.
type retryable struct{}

func (retryable) Error() string   { return "too many open files" }
func (retryable) Temporary() bool { return true }
func (retryable) Timeout() bool   { return false }

func TestRetryAccept(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{retryable{}, true},
		{&net.OpError{Op: "accept", Err: retryable{}}, true},
		{errors.New("broken"), false},
		{net.ErrClosed, false},
	} {
		if _, got := RetryAccept(tc.err, 0); got != tc.want {
			t.Errorf("RetryAccept(%v) retry = %v, want %v", tc.err, got, tc.want)
		}
	}
	// The wait starts small, doubles, and stops growing at the cap.
	var wait time.Duration
	var waits []time.Duration
	for range 12 {
		wait, _ = RetryAccept(retryable{}, wait)
		waits = append(waits, wait)
	}
	if waits[0] != MinAcceptBackoff || waits[1] != 2*MinAcceptBackoff || waits[len(waits)-1] != MaxAcceptBackoff {
		t.Fatalf("waits %v", waits)
	}
}

// flakyListener fails its first accepts with a temporary error.
type flakyListener struct {
	net.Listener
	fails int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, retryable{}
	}
	return l.Listener.Accept()
}

// TestServerRetriesAccept: temporary accept errors do not stop the server.
func TestServerRetriesAccept(t *testing.T) {
	_, addr, stop := e2eStart(t, Config{Mode: Plain}, func(ln net.Listener) net.Listener {
		return &flakyListener{Listener: ln, fails: 3}
	})
	defer stop()
	c := e2eClient(t, Plain, addr, "alice")
	c.Close()
}
