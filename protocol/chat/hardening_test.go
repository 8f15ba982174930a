package chat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"chatlab/protocol"
)

// Each test here attacks the server from one connection while two
// well-behaved members, alice and bob, keep talking. They assert that the
// bad connection is closed and that the others carry on.

var modes = []Mode{Plain, Secure}

// hardPair starts a server and joins alice and bob.
func hardPair(t *testing.T, cfg Config) (*Server, string, *Client, *Client) {
	t.Helper()
	srv, addr := e2eServer(t, cfg)
	alice := e2eClient(t, cfg.Mode, addr, "alice")
	bob := e2eClient(t, cfg.Mode, addr, "bob")
	e2eExpect(t, alice, "* bob joined")
	return srv, addr, alice, bob
}

// stillTalking checks that alice and bob reach each other, and that the
// room holds exactly want.
func stillTalking(t *testing.T, srv *Server, alice, bob *Client, want ...string) {
	t.Helper()
	alice.Send("ping")
	e2eExpect(t, bob, "alice: ping")
	bob.Send("pong")
	e2eExpect(t, alice, "bob: pong")
	e2eWaitMembers(t, srv, len(want))
	if got := srv.Members(); !slices.Equal(got, want) {
		t.Fatalf("room holds %v, want %v", got, want)
	}
}

// rawDial connects without any protocol.
func rawDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// rawJoin joins as name by hand and returns the protocol connection, so
// the test can misbehave on it. It reads nothing after the handshake.
func rawJoin(t *testing.T, mode Mode, addr, name string) (protocol.MessageConn, net.Conn) {
	t.Helper()
	conn, nc, err := joinRaw(mode, addr, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return conn, nc
}

// joinRaw is rawJoin for a goroutine other than the test's.
func joinRaw(mode Mode, addr, name string) (protocol.MessageConn, net.Conn, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	nc.SetDeadline(time.Now().Add(e2eDeadline))
	var conn protocol.MessageConn
	if mode == Secure {
		conn, _, err = protocol.Client(nc, protocol.ClientConfig{})
	} else {
		pc := protocol.NewPlainConn(nc)
		var banner string
		if banner, err = pc.ReadMessage(); err == nil && banner != Banner {
			err = fmt.Errorf("banner %q", banner)
		}
		conn = pc
	}
	if err == nil {
		err = conn.WriteMessages(name)
	}
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("%s joining: %w", name, err)
	}
	nc.SetDeadline(time.Time{})
	return conn, nc, nil
}

// expectClosed reads nc until the server closes it.
func expectClosed(t *testing.T, nc net.Conn) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(e2eDeadline))
	n, err := io.Copy(io.Discard, nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server never closed the connection (read %d bytes)", n)
	}
}

// writeAll writes b in the background: the server may stop reading, or
// close, long before the end.
func writeAll(nc net.Conn, b []byte) {
	go func() {
		nc.SetWriteDeadline(time.Now().Add(e2eDeadline))
		nc.Write(b)
	}()
}

// TestHugeLengthPrefix announces a 4 GiB record, in place of the key
// exchange and after the handshake. The server refuses it from the header
// alone (the test would run out of memory otherwise), closes that
// connection, and goes on.
func TestHugeLengthPrefix(t *testing.T) {
	huge := protocol.Header{Type: protocol.TypeData, Length: 1<<32 - 1}.Marshal(nil)
	hugeKex := protocol.Header{Type: protocol.TypeKeyExchange, Length: 1<<32 - 1}.Marshal(nil)
	junk := bytes.Repeat([]byte{0xAA}, 64<<10)

	t.Run("instead of the key exchange", func(t *testing.T) {
		srv, addr, alice, bob := hardPair(t, Config{Mode: Secure})
		nc := rawDial(t, addr)
		writeAll(nc, append(hugeKex, junk...))
		expectClosed(t, nc)
		stillTalking(t, srv, alice, bob, "alice", "bob")
	})
	t.Run("after the handshake", func(t *testing.T) {
		srv, addr, alice, bob := hardPair(t, Config{Mode: Secure})
		_, nc := rawJoin(t, Secure, addr, "mallory")
		e2eExpect(t, alice, "* mallory joined")
		writeAll(nc, append(huge, junk...))
		e2eExpect(t, alice, "* mallory was disconnected: bad record")
		expectClosed(t, nc)
		stillTalking(t, srv, alice, bob, "alice", "bob")
	})
}

// TestRandomMegabyte sends 1 MB of random bytes (from a fixed seed), in
// place of the handshake and after joining, in both modes.
func TestRandomMegabyte(t *testing.T) {
	noise := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	for _, mode := range modes {
		t.Run(mode.String()+"/at once", func(t *testing.T) {
			srv, addr, alice, bob := hardPair(t, Config{Mode: mode})
			nc := rawDial(t, addr)
			writeAll(nc, noise)
			expectClosed(t, nc)
			stillTalking(t, srv, alice, bob, "alice", "bob")
		})
		t.Run(mode.String()+"/after joining", func(t *testing.T) {
			srv, addr, alice, bob := hardPair(t, Config{Mode: mode})
			_, nc := rawJoin(t, mode, addr, "mallory")
			e2eExpect(t, alice, "* mallory joined")
			e2eExpect(t, bob, "* mallory joined")
			if mode == Secure {
				writeAll(nc, noise)
				e2eExpect(t, alice, "* mallory was disconnected: ")
				expectClosed(t, nc)
				stillTalking(t, srv, alice, bob, "alice", "bob")
				return
			}
			// In plain mode the noise is lines of text: the lines that
			// are UTF-8 and short enough reach the room, the others are
			// refused, and mallory stays until it quits (or is dropped,
			// if it reads its refusals too slowly).
			writeAll(nc, append(noise, "\n/quit\n"...))
			drained := make(chan error, 1)
			go func() {
				bob.NetConn().SetReadDeadline(time.Now().Add(e2eDeadline))
				for {
					l, err := bob.Receive()
					if err != nil || strings.HasPrefix(l.String(), "* mallory ") {
						drained <- err
						return
					}
					bob.NetConn().SetReadDeadline(time.Now().Add(e2eDeadline))
				}
			}()
			alice.NetConn().SetReadDeadline(time.Now().Add(e2eDeadline))
			for {
				l, err := alice.Receive()
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasPrefix(l.String(), "* mallory ") {
					if l.Text != "mallory left" && l.Text != "mallory was disconnected: too slow to keep up" {
						t.Fatalf("alice got %q", l.Text)
					}
					break
				}
				alice.NetConn().SetReadDeadline(time.Now().Add(e2eDeadline))
			}
			if err := <-drained; err != nil {
				t.Fatal(err)
			}
			expectClosed(t, nc)
			stillTalking(t, srv, alice, bob, "alice", "bob")
		})
	}
}

// stallTimeout is the handshake and name timeout in TestStalledJoins:
// short, so the test is quick, and long enough that alice and bob talk
// while the stalled connections are still open.
const stallTimeout = 500 * time.Millisecond

// stalls is how many connections of each kind TestStalledJoins opens.
const stalls = 10

// TestStalledJoins opens connections that stop part-way through joining:
// silent, half a key exchange, no name, half a name. While they hang,
// alice and bob talk and carol joins; then the server closes every one.
func TestStalledJoins(t *testing.T) {
	kinds := map[Mode]map[string]func(t *testing.T, addr string) net.Conn{
		Secure: {
			"silent": func(t *testing.T, addr string) net.Conn { return rawDial(t, addr) },
			"half a key exchange": func(t *testing.T, addr string) net.Conn {
				nc := rawDial(t, addr)
				kex := protocol.Header{Type: protocol.TypeKeyExchange, Length: protocol.WrappedKeySize}.Marshal(nil)
				nc.Write(append(kex, make([]byte, protocol.WrappedKeySize/2)...))
				return nc
			},
			"no name": func(t *testing.T, addr string) net.Conn {
				nc := rawDial(t, addr)
				nc.SetDeadline(time.Now().Add(e2eDeadline))
				if _, _, err := protocol.Client(nc, protocol.ClientConfig{}); err != nil {
					t.Fatal(err)
				}
				return nc
			},
		},
		Plain: {
			"silent":      func(t *testing.T, addr string) net.Conn { return rawDial(t, addr) },
			"half a name": func(t *testing.T, addr string) net.Conn { nc := rawDial(t, addr); nc.Write([]byte("mall")); return nc },
		},
	}
	for mode, byKind := range kinds {
		t.Run(mode.String(), func(t *testing.T) {
			srv, addr, alice, bob := hardPair(t, Config{Mode: mode, HandshakeTimeout: stallTimeout, NameTimeout: stallTimeout})
			var stalled []net.Conn
			for _, open := range byKind {
				for range stalls {
					stalled = append(stalled, open(t, addr))
				}
			}
			carol := e2eClient(t, mode, addr, "carol")
			e2eExpect(t, alice, "* carol joined")
			stillTalking(t, srv, alice, bob, "alice", "bob", "carol")
			carol.Send("here too")
			e2eExpect(t, bob, "carol: here too")
			for _, nc := range stalled {
				expectClosed(t, nc)
			}
			stillTalking(t, srv, alice, bob, "alice", "bob", "carol")
		})
	}
}

// TestMemberThatNeverReads joins a member that stops reading. Alice sends
// until it is dropped; bob, who reads, gets every one of her messages in
// order, before and after.
func TestMemberThatNeverReads(t *testing.T) {
	const (
		queue     = 64   // the server's per-member queue, small to fill fast
		batchSize = 16   // alice's lines per write, well under queue
		maxBatch  = 2000 // 128 MB of messages: the drop comes far sooner
	)
	msg := strings.Repeat("x", protocol.MaxMessage-8)
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			srv, addr, alice, bob := hardPair(t, Config{Mode: mode, QueueLimit: queue, WriteTimeout: time.Second})
			_, nc := rawJoin(t, mode, addr, "slow")
			e2eExpect(t, alice, "* slow joined")
			e2eExpect(t, bob, "* slow joined")

			next, seen := 0, 0
			send := func() {
				lines := make([]string, batchSize)
				for i := range lines {
					lines[i] = fmt.Sprintf("%06d%s", next, msg)
					next++
				}
				if err := alice.SendBatch(lines...); err != nil {
					t.Fatal(err)
				}
			}
			// receive reads bob's lines until he has all of alice's so
			// far, and reports whether slow's drop was among them.
			receive := func() (dropped bool) {
				bob.NetConn().SetReadDeadline(time.Now().Add(e2eDeadline))
				for seen < next {
					l, err := bob.Receive()
					if err != nil {
						t.Fatalf("bob, after %d of alice's messages: %v", seen, err)
					}
					if l.Notice {
						if l.Text != "slow was disconnected: too slow to keep up" {
							t.Fatalf("bob got %q", l.Text)
						}
						dropped = true
						continue
					}
					if want := fmt.Sprintf("%06d", seen); l.From != "alice" || !strings.HasPrefix(l.Text, want) {
						t.Fatalf("bob got %s: %.10q…, want alice's message %s", l.From, l.Text, want)
					}
					seen++
				}
				return dropped
			}
			for i := 0; ; i++ {
				if i == maxBatch {
					t.Fatalf("slow was never dropped")
				}
				send()
				if receive() {
					break
				}
			}
			for range 4 {
				send()
				receive()
			}
			expectClosed(t, nc)
			stillTalking(t, srv, alice, bob, "alice", "bob")
		})
	}
}

// TestControlCharacterFlood sends a message that is all control
// characters. Shown in caret notation it is twice as long as sent, longer
// than any line may be; the sender is told, and nobody is cut off.
func TestControlCharacterFlood(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			srv, addr, alice, bob := hardPair(t, Config{Mode: mode})
			carol := e2eClient(t, mode, addr, "carol")
			e2eExpect(t, alice, "* carol joined")
			carol.Send(strings.Repeat("\x01", protocol.MaxMessage))
			e2eExpect(t, carol, "* error: message too long")
			stillTalking(t, srv, alice, bob, "alice", "bob", "carol")
		})
	}
}

// disconnects is how many abrupt disconnections TestAbruptDisconnects
// makes per mode, spread over the kinds below and run four at a time.
const (
	disconnects = 1000
	workers     = 4
)

// TestAbruptDisconnects connects and vanishes, over and over, at every
// stage of joining and in the middle of a record or line: a plain close
// or a reset. Afterwards the server holds no extra goroutine and no extra
// file descriptor, and alice and bob still talk.
func TestAbruptDisconnects(t *testing.T) {
	reset := func(nc net.Conn) { nc.(*net.TCPConn).SetLinger(0); nc.Close() }
	kinds := []func(mode Mode, addr, name string) error{
		func(mode Mode, addr, name string) error {
			nc, err := net.Dial("tcp", addr)
			if err == nil {
				reset(nc)
			}
			return err
		},
		func(mode Mode, addr, name string) error {
			// Part of what the server expects first, then gone.
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				return err
			}
			if mode == Secure {
				hdr := protocol.Header{Type: protocol.TypeKeyExchange, Length: protocol.WrappedKeySize}.Marshal(nil)
				nc.Write(append(hdr, 1, 2, 3))
			} else {
				nc.Write([]byte(name[:2]))
			}
			return nc.Close()
		},
		func(mode Mode, addr, name string) error {
			// Joined, then half a record or line.
			_, nc, err := joinRaw(mode, addr, name)
			if err != nil {
				return err
			}
			if mode == Secure {
				hdr := protocol.Header{Type: protocol.TypeData, Length: 100}.Marshal(nil)
				nc.Write(append(hdr, make([]byte, 50)...))
			} else {
				nc.Write([]byte("half a li"))
			}
			return nc.Close()
		},
		func(mode Mode, addr, name string) error {
			// Joined, sent a message, reset.
			conn, nc, err := joinRaw(mode, addr, name)
			if err != nil {
				return err
			}
			conn.WriteMessages("bye")
			reset(nc)
			return nil
		},
	}
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			srv, addr, alice, bob := hardPair(t, Config{Mode: mode})
			stillTalking(t, srv, alice, bob, "alice", "bob")
			goroutines, fds := runtime.NumGoroutine(), openFDs(t)

			errs := make(chan error, workers)
			for w := range workers {
				go func() {
					for i := w; i < disconnects; i += workers {
						if err := kinds[i%len(kinds)](mode, addr, fmt.Sprintf("gone%d", i)); err != nil {
							errs <- err
							return
						}
					}
					errs <- nil
				}()
			}
			for range workers {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}

			waitFor(t, "goroutines to end", func() string {
				if n := runtime.NumGoroutine(); n > goroutines {
					return fmt.Sprintf("%d goroutines, %d before", n, goroutines)
				}
				return ""
			})
			waitFor(t, "file descriptors to close", func() string {
				if n := openFDs(t); n > fds {
					return fmt.Sprintf("%d open, %d before", n, fds)
				}
				return ""
			})
			stillTalking(t, srv, alice, bob, "alice", "bob")
		})
	}
}

// waitFor polls check until it returns "", failing with its last answer
// at the deadline.
func waitFor(t *testing.T, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(e2eDeadline)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("waiting for %s: %s\n%s", what, msg, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(entries)
}
