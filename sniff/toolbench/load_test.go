package toolbench

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// Load shape, as chat bench's default 1 → 1 run: the sender writes
// loadBatch messages at a time, at most loadWindow ahead of the receiver
// (the server drops a member whose queue overflows).
const (
	loadBatch  = 16
	loadWindow = 256
	loadSize   = 1024
	// loadTimeout ends a load that stops making progress.
	loadTimeout = 60 * time.Second
)

// server is a chat server on a loopback port of its own, so captures
// can filter on that port and see no one else's traffic.
type server struct {
	mode chat.Mode
	addr string
	port int
	stop func()
}

func startServer(tb testing.TB, mode chat.Mode, key *rsa.PrivateKey) *server {
	tb.Helper()
	srv, err := chat.NewServer(chat.Config{Mode: mode, Key: key})
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	return &server{mode: mode, addr: ln.Addr().String(), port: ln.Addr().(*net.TCPAddr).Port, stop: func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
	}}
}

func loadKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	data, err := os.ReadFile("../testdata/server-key.pem")
	if err != nil {
		tb.Fatal(err)
	}
	key, err := protocol.ParsePrivateKey(data)
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

func join(ctx context.Context, s *server, name string) (*chat.Client, error) {
	c, err := chat.Dial(ctx, chat.ClientConfig{Mode: s.mode, Addr: s.addr, Name: name})
	if err != nil {
		return nil, err
	}
	for {
		l, err := c.Receive()
		if err != nil {
			c.Close()
			return nil, err
		}
		if l.Notice && strings.HasPrefix(l.Text, "you are ") {
			return c, nil
		}
	}
}

// load sends messages of loadSize bytes from one member to another as
// fast as the window lets it, then both leave.
func load(tb testing.TB, s *server, messages int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	rx, err := join(ctx, s, "receiver")
	if err != nil {
		tb.Fatal(err)
	}
	defer rx.Close()
	tx, err := join(ctx, s, "sender")
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Close()
	var got atomic.Int64
	credit := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		rx.NetConn().SetReadDeadline(time.Now().Add(loadTimeout))
		for n := 0; n < messages; {
			l, err := rx.Receive()
			if err != nil {
				done <- fmt.Errorf("receiver after %d messages: %w", n, err)
				return
			}
			if l.Notice || l.From != "sender" {
				continue
			}
			n++
			got.Store(int64(n))
			if n%loadBatch == 0 {
				select {
				case credit <- struct{}{}:
				default:
				}
			}
		}
		done <- nil
	}()
	text := strings.Repeat("x", loadSize)
	lines := make([]string, loadBatch)
	for i := range lines {
		lines[i] = text
	}
	for sent := 0; sent < messages; sent += loadBatch {
		for int64(sent)-got.Load() > loadWindow-loadBatch {
			select {
			case <-credit:
			case err := <-done:
				tb.Fatalf("load: %v", err)
			case <-ctx.Done():
				tb.Fatal("load: the receiver stalled")
			}
		}
		if err := tx.SendBatch(lines[:min(loadBatch, messages-sent)]...); err != nil {
			tb.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		tb.Fatal(err)
	}
}
