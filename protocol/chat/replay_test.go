package chat

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingConn keeps a copy of everything written through it, as an
// attacker on the path keeps what a client sent.
type recordingConn struct {
	net.Conn
	mu   sync.Mutex
	sent bytes.Buffer
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.sent.Write(p)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *recordingConn) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.sent.Bytes())
}

// TestReplayedSessionDoesNotOpen records a client's whole side of a
// session, its key exchange, name and payment, and sends it again on a
// new connection, as lesson 6's relay replays one record. The sequence
// numbers cannot stop this: the replay starts at record 0. The server's
// random can: the new connection's hello has another, so its transcript,
// and with it both keys, differ, and the replayed name does not open.
// (In version 1, with no random, alice joined again and paid twice.)
func TestReplayedSessionDoesNotOpen(t *testing.T) {
	srv, addr := e2eServer(t, Config{Mode: Secure})
	bob := e2eClient(t, Secure, addr, "bob")
	var wire *recordingConn
	alice, err := Dial(context.Background(), ClientConfig{Mode: Secure, Addr: addr, Name: "alice", Timeout: e2eDeadline,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			wire = &recordingConn{Conn: nc}
			return wire, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	e2eExpect(t, bob, "* alice joined")
	if err := alice.Send("pay 100 to bob"); err != nil {
		t.Fatal(err)
	}
	e2eExpect(t, bob, "alice: pay 100 to bob")
	alice.Close()
	e2eExpect(t, bob, "* alice left")
	e2eWaitMembers(t, srv, 1)

	replay, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer replay.Close()
	if _, err := replay.Write(wire.bytes()); err != nil {
		t.Fatal(err)
	}
	// The server reads the replay, refuses it and closes: wait for that.
	replay.SetReadDeadline(time.Now().Add(e2eDeadline))
	if _, err := io.Copy(io.Discard, replay); err != nil {
		t.Fatalf("the server did not close the replayed session: %v", err)
	}
	carol := e2eClient(t, Secure, addr, "carol")
	carol.Send("after the replay")
	for {
		bob.NetConn().SetReadDeadline(time.Now().Add(e2eDeadline))
		l, err := bob.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch s := l.String(); {
		case s == "carol: after the replay":
			return
		case strings.Contains(s, "alice"):
			t.Fatalf("the replayed session reached the room: %q", s)
		}
	}
}
