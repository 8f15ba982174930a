package web

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"chatlab/protocol"
	"chatlab/protocol/chat"
	"chatlab/sniff"
)

// chatDeadline bounds every wait of a live chat in these tests.
const chatDeadline = 2 * time.Minute

// tapConn hands what one client's connection carries to a sniff.Tap,
// the real dissectors, as the lessons' relay does.
type tapConn struct {
	net.Conn
	tap            *sniff.Tap
	client, server netip.AddrPort
}

func (c tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.tap.Data(c.client, c.server, false, b[:n])
	}
	return n, err
}

func (c tapConn) Write(b []byte) (int, error) {
	c.tap.Data(c.client, c.server, true, b)
	return c.Conn.Write(b)
}

func keyedConfig(t testing.TB) *chat.Config {
	t.Helper()
	data, err := os.ReadFile("../testdata/server-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := protocol.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	return &chat.Config{Key: key}
}

// liveChat runs a chat on loopback in mode: alice, whose connection tap
// watches, joins, bob joins, alice says each of says and bob answers "hi
// alice". It returns when alice has left.
func liveChat(t *testing.T, tap *sniff.Tap, mode chat.Mode, says []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), chatDeadline)
	defer cancel()
	cfg := keyedConfig(t)
	cfg.Mode = mode
	srv, err := chat.NewServer(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), chatDeadline)
		defer scancel()
		srv.Shutdown(sctx)
		<-served
	}()
	addr := ln.Addr().String()

	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		ap := func(a net.Addr) netip.AddrPort { return a.(*net.TCPAddr).AddrPort() }
		return tapConn{c, tap, ap(c.LocalAddr()), ap(c.RemoteAddr())}, nil
	}
	alice, err := chat.Dial(ctx, chat.ClientConfig{Mode: mode, Addr: addr, Name: "alice", Dial: dial})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	bob, err := chat.Dial(ctx, chat.ClientConfig{Mode: mode, Addr: addr, Name: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	waitLine(t, alice, func(l chat.Line) bool { return l.Notice && strings.Contains(l.Text, "bob") })
	for _, s := range says {
		if err := alice.Send(s); err != nil {
			t.Fatal(err)
		}
	}
	if len(says) > 0 {
		last := says[len(says)-1]
		waitLine(t, bob, func(l chat.Line) bool { return l.From == "alice" && l.Text == last })
	}
	if err := bob.Send("hi alice"); err != nil {
		t.Fatal(err)
	}
	waitLine(t, alice, func(l chat.Line) bool { return l.From == "bob" && l.Text == "hi alice" })
	if err := alice.Quit(); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := alice.Receive(); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				t.Logf("alice after /quit: %v", err)
			}
			break
		}
	}
}

// waitLine reads c's lines until ok says one is the awaited one. The
// connection's deadline bounds the wait.
func waitLine(t *testing.T, c *chat.Client, ok func(chat.Line) bool) {
	t.Helper()
	c.NetConn().SetReadDeadline(time.Now().Add(chatDeadline))
	defer c.NetConn().SetReadDeadline(time.Time{})
	for {
		l, err := c.Receive()
		if err != nil {
			t.Fatalf("waiting for a line: %v", err)
		}
		if ok(l) {
			return
		}
	}
}
