package attack

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// chatServer runs a real chat server in mode on 127.0.0.1:0.
func chatServer(t *testing.T, mode chat.Mode, key *rsa.PrivateKey) string {
	t.Helper()
	srv, err := chat.NewServer(chat.Config{Mode: mode, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// lockedBuffer is a bytes.Buffer safe for the relay's goroutines.
type lockedBuffer struct {
	SyncWriter
	buf bytes.Buffer
}

func newLockedBuffer() *lockedBuffer {
	b := &lockedBuffer{}
	b.SyncWriter.w = &b.buf
	return b
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// relayTo starts a relay on cfg and returns its address, its report (in
// cfg.Out if that is a *lockedBuffer), and the connections' Closed events.
func relayTo(t *testing.T, cfg Config) (string, *lockedBuffer, <-chan Event) {
	t.Helper()
	out, ok := cfg.Out.(*lockedBuffer)
	if !ok {
		out = newLockedBuffer()
	}
	closed := make(chan Event, 4)
	cfg.Out = out
	cfg.Observe = func(e Event) {
		if e.Kind == Closed {
			closed <- e
		}
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	serve(r, ln)
	t.Cleanup(func() { r.Close() })
	return ln.Addr().String(), out, closed
}

// cutOff connects to addr, sends hello if any, and checks that the relay
// closes the connection without passing a byte on.
func cutOff(t *testing.T, addr string, hello string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if hello != "" {
		c.Write([]byte(hello))
	}
	c.SetReadDeadline(time.Now().Add(testTimeout))
	got, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the relay kept the client's connection open")
	}
	if len(got) > 0 {
		t.Errorf("the client was passed %q; want the connection closed with nothing", got)
	}
}

// TestRelayModeMismatch: a relay whose mode is not the server's says
// which flag to use and closes the client's connection at once.
func TestRelayModeMismatch(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, protocol.RSABits)
	if err != nil {
		t.Fatal(err)
	}
	plainSrv := chatServer(t, chat.Plain, nil)
	secureSrv := chatServer(t, chat.Secure, key)
	for _, tc := range []struct {
		name   string
		cfg    Config
		client string // what the client sends first
		want   string
	}{
		{"secure relay, plain server", Config{Upstream: plainSrv, Mode: chat.Secure}, "",
			"the server at " + plainSrv + " runs in plain mode; run chat relay --plain"},
		{"key swap, plain server", Config{Upstream: plainSrv, Mode: chat.Secure, SwapKey: true, Key: key}, "",
			"the server at " + plainSrv + " runs in plain mode; run chat relay --plain"},
		{"plain relay, secure server", Config{Upstream: secureSrv, Mode: chat.Plain}, "bob\n",
			"the server at " + secureSrv + " runs in secure mode; run chat relay --secure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, out, closed := relayTo(t, tc.cfg)
			cutOff(t, addr, tc.client)
			e := wait(t, closed, "the connection's end")
			var mm *ModeMismatchError
			if !errors.As(e.Err, &mm) {
				t.Errorf("the connection ended with %v, want a mode mismatch", e.Err)
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("the relay printed\n%s\nwant a line with %q", out.String(), tc.want)
			}
		})
	}
}

// TestRelayUpstreamDown: with nothing at the upstream address, the relay
// says so and closes the client's connection.
func TestRelayUpstreamDown(t *testing.T) {
	ln := listen(t)
	down := ln.Addr().String()
	ln.Close()
	addr, out, closed := relayTo(t, Config{Upstream: down, Mode: chat.Secure})
	cutOff(t, addr, "")
	wait(t, closed, "the connection's end")
	want := "cannot reach the server at " + down + ": "
	if s := out.String(); !strings.Contains(s, want) || !strings.Contains(s, "is chat server running?") {
		t.Errorf("the relay printed\n%s\nwant %q … \"is chat server running?\"", s, want)
	}
}
