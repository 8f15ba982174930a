package chat

import (
	"bufio"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"chatlab/protocol"
)

// e2eDeadline bounds every wait in these tests for progress: a line, a
// close, a member. It is long, because a machine loaded with other work
// (and the race detector) can stall a goroutine for seconds; passing tests
// never wait it out.
const e2eDeadline = 30 * time.Second

func e2eKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	key, err := protocol.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// e2eServer starts a server on 127.0.0.1:0 and shuts it down at cleanup.
func e2eServer(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	srv, addr, stop := e2eStart(t, cfg, nil)
	t.Cleanup(stop)
	return srv, addr
}

// e2eStart starts a server on 127.0.0.1:0, behind wrap if it is given,
// and returns stop, which shuts it down and checks that Serve ended as it
// should.
func e2eStart(t testing.TB, cfg Config, wrap func(net.Listener) net.Listener) (*Server, string, func()) {
	t.Helper()
	if cfg.Mode == Secure && cfg.Key == nil {
		cfg.Key = e2eKey(t, "server-key.pem")
	}
	if cfg.HandshakeTimeout == 0 {
		// A loaded machine may take seconds over an RSA decryption.
		cfg.HandshakeTimeout = e2eDeadline
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), e2eDeadline)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}
	return srv, addr, stop
}

// e2eClient joins as name and drains the greeting notices.
func e2eClient(t testing.TB, mode Mode, addr, name string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), ClientConfig{Mode: mode, Addr: addr, Name: name, Timeout: e2eDeadline})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	e2eExpect(t, c, "* you are ")
	return c
}

// e2eExpect reads lines until one starts with prefix, and returns it.
func e2eExpect(t testing.TB, c *Client, prefix string) Line {
	t.Helper()
	defer c.NetConn().SetReadDeadline(time.Time{})
	var seen []string
	for {
		// The deadline is for the next line, not for all of them: a slow
		// machine is no failure while lines keep coming.
		c.NetConn().SetReadDeadline(time.Now().Add(e2eDeadline))
		l, err := c.Receive()
		if err != nil {
			t.Fatalf("waiting for %q: %v (saw %q)", prefix, err, seen)
		}
		if strings.HasPrefix(l.String(), prefix) {
			return l
		}
		seen = append(seen, l.String())
	}
}

// e2eWaitMembers polls until the room holds n members. It gives up only
// when the count has not moved for e2eDeadline, so a large room that is
// still filling (slowly, under the race detector) is not a failure.
func e2eWaitMembers(t testing.TB, srv *Server, n int) {
	t.Helper()
	last, deadline := -1, time.Time{}
	for {
		got := len(srv.Members())
		if got == n {
			return
		}
		if got != last {
			last, deadline = got, time.Now().Add(e2eDeadline)
		}
		if time.Now().After(deadline) {
			t.Fatalf("room stuck at %d members, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestThreeClientsChat(t *testing.T) {
	for _, mode := range []Mode{Plain, Secure} {
		t.Run(mode.String(), func(t *testing.T) {
			srv, addr := e2eServer(t, Config{Mode: mode})
			alice := e2eClient(t, mode, addr, "alice")
			bob := e2eClient(t, mode, addr, "bob")
			e2eExpect(t, alice, "* bob joined")
			carol := e2eClient(t, mode, addr, "carol")
			e2eExpect(t, alice, "* carol joined")
			e2eExpect(t, bob, "* carol joined")
			e2eWaitMembers(t, srv, 3)

			for i := 0; i < 5; i++ {
				alice.Send(fmt.Sprintf("message %d from alice", i))
			}
			for _, c := range []*Client{bob, carol} {
				for i := 0; i < 5; i++ {
					l := e2eExpect(t, c, "alice: ")
					if l.From != "alice" || l.Text != fmt.Sprintf("message %d from alice", i) {
						t.Fatalf("out of order or wrong: %+v", l)
					}
				}
			}
			bob.Send("hello from bob")
			e2eExpect(t, carol, "bob: hello from bob")
			e2eExpect(t, alice, "bob: hello from bob")

			carol.Send("/who")
			e2eExpect(t, carol, "* 3 in the room: alice, bob, carol")
			bob.Send("/nick robert")
			e2eExpect(t, alice, "* bob is now known as robert")
			alice.Send("/nick carol")
			e2eExpect(t, alice, "* error: the name carol is taken")
			carol.Send("/bogus")
			e2eExpect(t, carol, "* error: unknown command /bogus")
			carol.Quit()
			e2eExpect(t, carol, "* bye")
			e2eExpect(t, alice, "* carol left")
			if _, err := carol.Receive(); !errors.Is(err, io.EOF) {
				t.Fatalf("after /quit: %v, want EOF", err)
			}
			e2eWaitMembers(t, srv, 2)
		})
	}
}

func TestDuplicateNameGetsSuffix(t *testing.T) {
	_, addr := e2eServer(t, Config{Mode: Plain})
	e2eClient(t, Plain, addr, "alice")
	c, err := Dial(context.Background(), ClientConfig{Mode: Plain, Addr: addr, Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	e2eExpect(t, c, "* the name alice is taken; you are alice2")
	e2eExpect(t, c, "* you are alice2; in the room: alice, alice2")
}

// TestNetcatClient talks to a plain server the way a person with netcat
// does: raw text lines, "\r\n" endings, and escape sequences.
func TestNetcatClient(t *testing.T) {
	_, addr := e2eServer(t, Config{Mode: Plain})
	alice := e2eClient(t, Plain, addr, "alice")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(e2eDeadline))
	br := bufio.NewReader(nc)
	banner, _ := br.ReadString('\n')
	if banner != Banner+"\n" {
		t.Fatalf("banner %q", banner)
	}
	fmt.Fprint(nc, "mallory\r\n")
	e2eExpect(t, alice, "* mallory joined")
	fmt.Fprint(nc, "hi \x1b[2Jall\r\n")
	l := e2eExpect(t, alice, "mallory: ")
	if l.Text != "hi ^[[2Jall" {
		t.Fatalf("escape reached alice: %q", l.Text)
	}
	alice.Send("hello mallory")
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "alice: hello mallory\n" {
			break
		}
	}
	fmt.Fprint(nc, "/quit\n")
	e2eExpect(t, alice, "* mallory left")
}

func TestBadNameRefused(t *testing.T) {
	_, addr := e2eServer(t, Config{Mode: Plain})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(e2eDeadline))
	fmt.Fprint(nc, "bad name!\n")
	b, _ := io.ReadAll(nc)
	if !strings.Contains(string(b), "* error: a name uses only letters") {
		t.Fatalf("got %q", b)
	}
}

func TestModeMismatch(t *testing.T) {
	_, plainAddr := e2eServer(t, Config{Mode: Plain})
	_, secureAddr := e2eServer(t, Config{Mode: Secure})
	for _, tc := range []struct {
		mode Mode
		addr string
		want error
	}{
		{Secure, plainAddr, ErrServerIsPlain},
		{Plain, secureAddr, ErrServerIsSecure},
	} {
		start := time.Now()
		_, err := Dial(context.Background(), ClientConfig{Mode: tc.mode, Addr: tc.addr, Name: "alice"})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s client: %v, want %v", tc.mode, err, tc.want)
		}
		if !strings.Contains(err.Error(), "--"+map[Mode]string{Secure: "plain", Plain: "secure"}[tc.mode]) {
			t.Errorf("error does not name the flag: %v", err)
		}
		t.Logf("%s client refused in %v", tc.mode, time.Since(start))
	}
	// netcat to a secure server learns what to do in plain text.
	nc, err := net.Dial("tcp", secureAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(e2eDeadline))
	fmt.Fprint(nc, "alice\n")
	b, _ := io.ReadAll(nc)
	if !strings.Contains(string(b), SecureOnlyLine) {
		t.Fatalf("netcat got %q", b)
	}
}

// TestSecureClientSendsNothingToPlainServer checks that a secure client
// never sends its name (or anything) in the clear.
func TestSecureClientSendsNothingToPlainServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		fmt.Fprintln(c, Banner)
		c.SetReadDeadline(time.Now().Add(e2eDeadline))
		b, _ := io.ReadAll(c)
		got <- b
	}()
	_, err = Dial(context.Background(), ClientConfig{Mode: Secure, Addr: ln.Addr().String(), Name: "alice"})
	if !errors.Is(err, ErrServerIsPlain) {
		t.Fatalf("got %v", err)
	}
	if b := <-got; len(b) != 0 {
		t.Fatalf("the secure client sent %q to a plain server", b)
	}
}

func TestFingerprintChangeRefused(t *testing.T) {
	_, addr1 := e2eServer(t, Config{Mode: Secure, Key: e2eKey(t, "server-key.pem")})
	_, addr2 := e2eServer(t, Config{Mode: Secure, Key: e2eKey(t, "other-key.pem")})
	known := &protocol.KnownServers{Path: filepath.Join(t.TempDir(), "known_servers")}
	target := addr1
	cfg := ClientConfig{Mode: Secure, Addr: "chat.example:9000", Name: "alice", Known: known,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, target)
		}}
	c, err := Dial(context.Background(), cfg)
	if err != nil || !c.FirstUse {
		t.Fatalf("first use: %v", err)
	}
	c.Close()
	c, err = Dial(context.Background(), cfg)
	if err != nil || c.FirstUse {
		t.Fatalf("second use: %v", err)
	}
	c.Close()
	target = addr2 // the same name now answers with another key
	_, err = Dial(context.Background(), cfg)
	var changed *protocol.FingerprintChangedError
	if !errors.As(err, &changed) {
		t.Fatalf("changed key accepted: %v", err)
	}
	// Pinning: the right pin passes, a wrong one fails.
	pinned := cfg
	pinned.Known = nil
	pinned.Fingerprint = protocol.Fingerprint(&e2eKey(t, "other-key.pem").PublicKey)
	if c, err := Dial(context.Background(), pinned); err != nil {
		t.Fatalf("right pin refused: %v", err)
	} else {
		c.Close()
	}
	target = addr1
	if _, err := Dial(context.Background(), pinned); !errors.Is(err, ErrPinMismatch) {
		t.Fatalf("wrong pin: %v", err)
	}
}

// TestTamperedRecordClosesOnlyThatMember sends a record with one flipped
// bit from one member: it is dropped with "bad record", and the rest of
// the room goes on.
func TestTamperedRecordClosesOnlyThatMember(t *testing.T) {
	srv, addr := e2eServer(t, Config{Mode: Secure})
	alice := e2eClient(t, Secure, addr, "alice")
	bob := e2eClient(t, Secure, addr, "bob")
	e2eExpect(t, alice, "* bob joined")
	var wire *flipConn
	mallory, err := Dial(context.Background(), ClientConfig{Mode: Secure, Addr: addr, Name: "mallory",
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			wire = &flipConn{Conn: c}
			return wire, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer mallory.Close()
	e2eExpect(t, alice, "* mallory joined")

	wire.flipNext.Store(true) // one ciphertext bit of the next record
	mallory.Send("pay 100")
	e2eExpect(t, alice, "* mallory was disconnected: bad record")
	alice.Send("still here")
	e2eExpect(t, bob, "alice: still here")
	e2eWaitMembers(t, srv, 2)
}

// flipConn flips a bit of the ciphertext in its next write when asked,
// as an attacker on the path would.
type flipConn struct {
	net.Conn
	flipNext atomic.Bool
}

func (c *flipConn) Write(p []byte) (int, error) {
	if c.flipNext.CompareAndSwap(true, false) && len(p) > protocol.RecordHeaderLen+protocol.NonceSize {
		p = append([]byte(nil), p...)
		p[protocol.RecordHeaderLen+protocol.NonceSize] ^= 0x01
	}
	return c.Conn.Write(p)
}

func TestSlowMemberDropped(t *testing.T) {
	_, addr := e2eServer(t, Config{Mode: Secure, QueueLimit: 8, WriteTimeout: time.Second})
	alice := e2eClient(t, Secure, addr, "alice")
	// slow never reads, and its receive buffer is set small before it
	// connects, so the window it offers stays small.
	small := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return serr
	}}
	slow, err := Dial(context.Background(), ClientConfig{Mode: Secure, Addr: addr, Name: "slow", Dial: small.DialContext})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	e2eExpect(t, alice, "* slow joined")
	bob := e2eClient(t, Secure, addr, "bob")
	e2eExpect(t, alice, "* bob joined")
	// Alice sends in step with bob, so only slow falls behind.
	msg := strings.Repeat("x", protocol.MaxMessage)
	for i := 0; ; i++ {
		if i == 20000 {
			t.Fatal("slow was never dropped")
		}
		if err := alice.Send(msg); err != nil {
			t.Fatal(err)
		}
		bob.NetConn().SetReadDeadline(time.Now().Add(e2eDeadline))
		l, err := bob.Receive()
		if err != nil {
			t.Fatalf("bob after %d messages: %v", i, err)
		}
		if l.Notice {
			if l.Text != "slow was disconnected: too slow to keep up" {
				t.Fatalf("unexpected notice %q", l.Text)
			}
			break
		}
	}
	alice.Send("after")
	e2eExpect(t, bob, "alice: after")
}

func TestShutdownTellsMembersAndLeaksNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	srv, addr, stop := e2eStart(t, Config{Mode: Secure}, nil)
	var clients []*Client
	for _, n := range []string{"alice", "bob", "carol"} {
		clients = append(clients, e2eClient(t, Secure, addr, n))
	}
	// One connection stuck mid-handshake must not hold shutdown up.
	stuck, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	e2eWaitMembers(t, srv, 3)

	stop()
	if t.Failed() {
		t.FailNow()
	}
	for _, c := range clients {
		e2eExpect(t, c, ShutdownNotice)
		if _, err := c.Receive(); !errors.Is(err, io.EOF) {
			t.Fatalf("after shutdown: %v", err)
		}
		c.Close()
	}
	stuck.Close()
	deadline := time.Now().Add(e2eDeadline)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLongMessageRefusedNotFatal(t *testing.T) {
	_, addr := e2eServer(t, Config{Mode: Plain})
	alice := e2eClient(t, Plain, addr, "alice")
	alice.Send(strings.Repeat("y", protocol.MaxMessage+1))
	e2eExpect(t, alice, "* error: message too long")
	alice.Send("/who")
	e2eExpect(t, alice, "* 1 in the room: alice")
}

func TestParseLine(t *testing.T) {
	for in, want := range map[string]Line{
		"alice: hi":            {From: "alice", Text: "hi"},
		"alice: a: b":          {From: "alice", Text: "a: b"},
		"* bob joined":         {Notice: true, Text: "bob joined"},
		"no colon":             {Notice: true, Text: "no colon"},
		"two words: not a msg": {Notice: true, Text: "two words: not a msg"},
		"":                     {Notice: true, Text: ""},
	} {
		if got := ParseLine(in); got != want {
			t.Errorf("ParseLine(%q) = %+v, want %+v", in, got, want)
		} else if got.String() != in && in != "" && got.From != "" {
			t.Errorf("String(%q) = %q", in, got.String())
		}
	}
}

func FuzzParseLine(f *testing.F) {
	data, err := os.ReadFile("testdata/lines.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(s, "#") {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := ParseLine(s)
		if !l.Notice && (l.From == "" || l.String() != s) {
			t.Fatalf("message %+v does not round-trip %q", l, s)
		}
	})
}

// TestOverlongPlainLineExplained sends a 5000-byte line from netcat, which
// has no limit of its own: the server refuses it politely, as the chat
// client would, and the member stays.
func TestOverlongPlainLineExplained(t *testing.T) {
	_, addr := e2eServer(t, Config{Mode: Plain})
	alice := e2eClient(t, Plain, addr, "alice")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(e2eDeadline))
	fmt.Fprint(nc, "mallory\n"+strings.Repeat("z", 5000)+"\nstill here\n/quit\n")
	b, _ := io.ReadAll(nc)
	if !strings.Contains(string(b), "* error: message too long (5001 bytes with its line break, the limit is 4000); it was not sent\n") {
		t.Fatalf("netcat got %q", b)
	}
	e2eExpect(t, alice, "mallory: still here")
	e2eExpect(t, alice, "* mallory left")
}

func TestUnknownControlCommandFitsOneLine(t *testing.T) {
	for _, mode := range []Mode{Plain, Secure} {
		_, addr := e2eServer(t, Config{Mode: mode})
		alice := e2eClient(t, mode, addr, "alice")
		alice.Send("/" + strings.Repeat("\x01", protocol.MaxMessage-1))
		l := e2eExpect(t, alice, "* error: unknown command /^A^A")
		if len(l.String()) > protocol.MaxLine {
			t.Fatalf("%s: notice of %d bytes", mode, len(l.String()))
		}
		alice.Send("/who")
		e2eExpect(t, alice, "* 1 in the room: alice")
	}
}

func TestFitLine(t *testing.T) {
	for _, in := range []string{strings.Repeat("é", protocol.MaxLine), strings.Repeat("x", protocol.MaxLine+1), strings.Repeat("✓", 3000)} {
		got := fitLine(in)
		if len(got) > protocol.MaxLine || !utf8.ValidString(got) || !strings.HasSuffix(got, "...") {
			t.Errorf("fitLine: %d bytes, valid %v", len(got), utf8.ValidString(got))
		}
	}
}

// TestQueueBytesBound has alice send long lines, few of them, to a member
// that never reads: its queue reaches the byte wait mark, alice is held
// there, and the member is dropped for its slowness, which alice hears.
func TestQueueBytesBound(t *testing.T) {
	small := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return nil
	}}
	_, addr := e2eServer(t, Config{Mode: Plain, QueueBytes: 64 << 10, WriteTimeout: time.Second})
	alice := e2eClient(t, Plain, addr, "alice")
	slow, err := Dial(context.Background(), ClientConfig{Mode: Plain, Addr: addr, Name: "slow", Dial: small.DialContext})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	e2eExpect(t, alice, "* slow joined")
	msg := strings.Repeat("b", protocol.MaxMessage)
	for i := 0; ; i++ {
		if i == 5000 {
			t.Fatal("slow was never dropped")
		}
		alice.Send(msg)
		alice.Send("/who") // in step: wait for the answer before the next
		alice.NetConn().SetReadDeadline(time.Now().Add(e2eDeadline))
		l, err := alice.Receive()
		if err != nil {
			t.Fatal(err)
		}
		if l.Text == "slow was disconnected: too slow to keep up" {
			return
		}
	}
}

// TestPendingFloodEvictsOldestQuiet fills the pending set: one connection
// that has begun its name, then quiet ones. A real client still joins at
// once, the oldest quiet connection is closed to make room, and the one
// that has begun its name is kept.
func TestPendingFloodEvictsOldestQuiet(t *testing.T) {
	srv, addr := e2eServer(t, Config{Mode: Plain, MaxPending: 3})
	alice := e2eClient(t, Plain, addr, "alice")
	open := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(e2eDeadline))
		br := bufio.NewReader(c)
		if line, err := br.ReadString('\n'); err != nil || line != Banner+"\n" {
			t.Fatalf("banner: %q %v", line, err)
		}
		return c, br
	}
	typing, typingBr := open()
	fmt.Fprint(typing, "car")
	waitFor(t, "the server to read the first bytes of a name", func() string {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		if len(srv.pending) != 1 || !srv.pending[0].typing.Load() {
			return fmt.Sprintf("%d pending, none typing", len(srv.pending))
		}
		return ""
	})
	quiet1, _ := open()
	quiet2, _ := open()
	// The set holds three; the fourth, a chat client, must get in.
	bob := e2eClient(t, Plain, addr, "bob")
	e2eExpect(t, alice, "* bob joined")
	expectClosed(t, quiet1)
	// The one who began typing finishes and joins.
	fmt.Fprint(typing, "ol\n")
	if line, err := typingBr.ReadString('\n'); err != nil || !strings.HasPrefix(line, "* you are carol") {
		t.Fatalf("carol: %q %v", line, err)
	}
	e2eExpect(t, bob, "* carol joined")
	quiet2.Close()
}

// TestPendingFloodRealClientJoins is the join lockout: as many
// connections as the server keeps pending, which never send a name (in
// secure mode, after the whole RSA handshake), then a real client. It
// joins, and the server's log says what became of the flood.
func TestPendingFloodRealClientJoins(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			var log syncLog
			srv, addr := e2eServer(t, Config{Mode: mode, Log: log.logger()})
			flood := make([]net.Conn, DefaultMaxPending)
			errs := make(chan error, len(flood))
			for i := range flood {
				go func() {
					nc, err := net.Dial("tcp", addr)
					if err == nil {
						nc.SetDeadline(time.Now().Add(e2eDeadline))
						if mode == Secure {
							_, _, err = protocol.Client(nc, protocol.ClientConfig{})
						} else {
							_, err = bufio.NewReader(nc).ReadString('\n')
						}
						nc.SetDeadline(time.Time{})
					}
					flood[i] = nc
					errs <- err
				}()
			}
			for range flood {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			t.Cleanup(func() {
				for _, nc := range flood {
					nc.Close()
				}
			})
			alice := e2eClient(t, mode, addr, "alice")
			alice.Send("/who")
			e2eExpect(t, alice, "* 1 in the room: alice")
			e2eWaitMembers(t, srv, 1)
			if !strings.Contains(log.String(), "closed while joining, to make room") {
				t.Fatalf("the log does not say a joining connection was closed:\n%.2000s", log.String())
			}
		})
	}
}

// syncLog collects a server's log for a test to read.
type syncLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *syncLog) logger() *log.Logger { return log.New(l, "", 0) }

// writeCounter counts the writes made on a connection.
type writeCounter struct {
	net.Conn
	writes *atomic.Int32
}

func (c writeCounter) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestSecureDialSendsNameWithKeyExchange backs PROTOCOL.md: up to its
// confirmation, a secure client makes one write, the key exchange with
// its name sealed behind it, and the server takes the name from it.
func TestSecureDialSendsNameWithKeyExchange(t *testing.T) {
	srv, addr := e2eServer(t, Config{Mode: Secure})
	var writes atomic.Int32
	c, err := Dial(context.Background(), ClientConfig{Mode: Secure, Addr: addr, Name: "alice", Timeout: e2eDeadline,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return writeCounter{Conn: nc, writes: &writes}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := writes.Load(); n != 1 {
		t.Errorf("the client made %d writes to join, want 1", n)
	}
	e2eExpect(t, c, "* you are alice;")
	if got := srv.Members(); len(got) != 1 || got[0] != "alice" {
		t.Fatalf("members %q", got)
	}
}
