package protocol

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// memConn is a net.Conn that reads from r and writes into w, for driving
// a Conn with hand-made bytes.
type memConn struct {
	net.Conn // nil: only the methods below are used
	r        io.Reader
	w        bytes.Buffer
}

func (m *memConn) Read(p []byte) (int, error)         { return m.r.Read(p) }
func (m *memConn) Write(p []byte) (int, error)        { return m.w.Write(p) }
func (m *memConn) Close() error                       { return nil }
func (m *memConn) SetDeadline(time.Time) error        { return nil }
func (m *memConn) SetWriteDeadline(t time.Time) error { return nil }

var (
	keyA = []byte("0123456789abcdef") // client to server
	keyB = []byte("fedcba9876543210") // server to client
)

// endpoint returns a Conn that sends with send and receives with recv,
// reading the bytes in.
func endpoint(t *testing.T, in []byte, send, recv []byte) (*Conn, *memConn) {
	t.Helper()
	mc := &memConn{r: bytes.NewReader(in)}
	c := newConn(mc, AES128GCM())
	if err := c.setKeys(send, recv); err != nil {
		t.Fatal(err)
	}
	return c, mc
}

// clientRecords seals msgs as the client would and returns each record.
func clientRecords(t *testing.T, msgs ...string) [][]byte {
	t.Helper()
	c, mc := endpoint(t, nil, keyA, keyB)
	var out [][]byte
	for _, m := range msgs {
		mc.w.Reset()
		if err := c.WriteMessages(m); err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(mc.w.Bytes()))
	}
	return out
}

// serverReads feeds wire to a server-side Conn and returns what it read
// before the first error, and that error.
func serverReads(t *testing.T, wire []byte) ([]string, error) {
	t.Helper()
	s, _ := endpoint(t, wire, keyB, keyA)
	var got []string
	for {
		m, err := s.ReadMessage()
		if err != nil {
			return got, err
		}
		got = append(got, m)
	}
}

func TestSecureRecordsInOrder(t *testing.T) {
	recs := clientRecords(t, "alice", "hello", "", strings.Repeat("é", MaxLine/2))
	got, err := serverReads(t, bytes.Join(recs, nil))
	if err != io.EOF || len(got) != 4 || got[0] != "alice" || got[1] != "hello" || got[2] != "" {
		t.Fatalf("got %d messages, %v", len(got), err)
	}
}

// TestTamperEveryByte flips one bit in each byte of a record in turn: the
// header, the nonce, the ciphertext and the tag. Every change is refused
// with ErrBadRecord and nothing of the message is delivered.
func TestTamperEveryByte(t *testing.T) {
	rec := clientRecords(t, "pay 100")[0]
	for i := range rec {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(rec)
			bad[i] ^= bit
			got, err := serverReads(t, bad)
			if len(got) != 0 || !errors.Is(err, ErrBadRecord) {
				t.Fatalf("byte %d (%s) ^%02x: delivered %q, err %v", i, part(i, len(rec)), bit, got, err)
			}
		}
	}
}

func part(i, n int) string {
	switch {
	case i < RecordHeaderLen:
		return "header"
	case i < RecordHeaderLen+NonceSize:
		return "nonce"
	case i >= n-TagSize:
		return "tag"
	}
	return "ciphertext"
}

func TestTruncatedRecord(t *testing.T) {
	rec := clientRecords(t, "hello")[0]
	for n := 1; n < len(rec); n++ {
		got, err := serverReads(t, rec[:n])
		if len(got) != 0 || !errors.Is(err, ErrBadRecord) {
			t.Fatalf("%d of %d bytes: %q %v", n, len(rec), got, err)
		}
	}
}

func TestReplayReorderReflect(t *testing.T) {
	recs := clientRecords(t, "one", "two", "three")
	for _, tc := range []struct {
		name string
		wire [][]byte
		good int
	}{
		{"replay", [][]byte{recs[0], recs[1], recs[1]}, 2},
		{"replay of the first", [][]byte{recs[0], recs[0]}, 1},
		{"reorder", [][]byte{recs[1], recs[0]}, 0},
		{"drop", [][]byte{recs[0], recs[2]}, 1},
	} {
		got, err := serverReads(t, bytes.Join(tc.wire, nil))
		if len(got) != tc.good || !errors.Is(err, ErrBadRecord) {
			t.Errorf("%s: delivered %q, err %v", tc.name, got, err)
		}
	}
	// Reflection: the client's own record sent back to the client. The
	// client opens with the server-to-client key, so it fails.
	c, _ := endpoint(t, recs[0], keyA, keyB)
	if m, err := c.ReadMessage(); !errors.Is(err, ErrBadRecord) {
		t.Errorf("reflected record opened: %q %v", m, err)
	}
}

func TestErrorsAreSticky(t *testing.T) {
	recs := clientRecords(t, "one", "two")
	bad := bytes.Clone(recs[0])
	bad[len(bad)-1] ^= 1
	s, _ := endpoint(t, bytes.Join([][]byte{bad, recs[0], recs[1]}, nil), keyB, keyA)
	for i := 0; i < 3; i++ {
		if m, err := s.ReadMessage(); !errors.Is(err, ErrBadRecord) {
			t.Fatalf("read %d after a bad record: %q %v", i, m, err)
		}
	}
}

func TestOversizeAndWrongTypeAfterHandshake(t *testing.T) {
	for _, wire := range [][]byte{
		{0x17, 0xff, 0xff, 0xff, 0xff},
		AppendRecord(nil, TypeHello, []byte("CLAB")),
		AppendRecord(nil, TypeData, nil),
		[]byte("hello in the clear\n"),
	} {
		if got, err := serverReads(t, wire); len(got) != 0 || !errors.Is(err, ErrBadRecord) {
			t.Errorf("%x: %q %v", wire[:5], got, err)
		}
	}
}

func TestPlaintextLimits(t *testing.T) {
	c, _ := endpoint(t, nil, keyA, keyB)
	if err := c.WriteMessages(strings.Repeat("x", MaxLine+1)); !errors.Is(err, ErrMessageTooLong) {
		t.Fatalf("over-long message sealed: %v", err)
	}
	// A peer that seals more than MaxLine, or invalid UTF-8, is refused
	// even though the record authenticates.
	rc, _ := AES128GCM().New(keyA)
	for _, pt := range [][]byte{bytes.Repeat([]byte("x"), MaxLine+1), []byte("caf\xc3")} {
		if got, err := serverReads(t, sealRecord(rc, 0, pt)); len(got) != 0 || err == nil {
			t.Errorf("accepted %d-byte plaintext: %v", len(pt), err)
		}
	}
}

// handshakePair runs both sides over loopback TCP.
func handshakePair(t *testing.T, scfg ServerConfig, ccfg ClientConfig) (cli, srv *Conn, cerr, serr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			serr = err
			return
		}
		t.Cleanup(func() { c.Close() })
		srv, serr = Server(c, scfg)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cli, _, cerr = Client(c, ccfg)
	<-done
	return cli, srv, cerr, serr
}

func TestHandshakeOverLoopback(t *testing.T) {
	key := testKey(t, "server-key.pem")
	var seen string
	cli, srv, cerr, serr := handshakePair(t, ServerConfig{Key: key}, ClientConfig{Verify: func(h Hello) error {
		seen = FingerprintDER(h.KeyDER)
		return nil
	}})
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	if seen != Fingerprint(&key.PublicKey) {
		t.Fatalf("client saw %s", seen)
	}
	go cli.WriteMessages("alice", "hi")
	for _, want := range []string{"alice", "hi"} {
		if got, err := srv.ReadMessage(); got != want || err != nil {
			t.Fatalf("server read %q %v", got, err)
		}
	}
	go srv.WriteMessages("* welcome")
	if got, err := cli.ReadMessage(); got != "* welcome" || err != nil {
		t.Fatalf("client read %q %v", got, err)
	}
}

// TestHandshakerServesMany: one Handshaker runs handshakes on several
// connections at once, each with its own session key, and refuses to be
// made without a key.
func TestHandshakerServesMany(t *testing.T) {
	if _, err := NewHandshaker(ServerConfig{}); err == nil {
		t.Fatal("a handshaker without a key was made")
	}
	key := testKey(t, "server-key.pem")
	h, err := NewHandshaker(ServerConfig{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const n = 8
	go func() {
		for i := range n {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				// Every other one runs in two steps, as a server that
				// writes the hello on accept does.
				var srv *Conn
				var err error
				hello := h.NewHello()
				if i%2 == 0 {
					srv, err = h.Handshake(c)
				} else if _, err = c.Write(hello); err == nil {
					srv, err = h.Finish(c, hello)
				}
				if err != nil {
					return
				}
				// Each server side echoes the one line it reads.
				if m, err := srv.ReadMessage(); err == nil {
					srv.WriteMessages("echo " + m)
				}
			}()
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(time.Minute))
			cli, hello, err := Client(c, ClientConfig{})
			if err == nil && FingerprintDER(hello.KeyDER) != Fingerprint(&key.PublicKey) {
				err = fmt.Errorf("client %d saw another key", i)
			}
			if err == nil {
				err = cli.WriteMessages(fmt.Sprint("client ", i))
			}
			var got string
			if err == nil {
				got, err = cli.ReadMessage()
			}
			if err == nil && got != fmt.Sprint("echo client ", i) {
				err = fmt.Errorf("client %d read %q", i, got)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// countingConn counts the writes made on it.
type countingConn struct {
	net.Conn
	writes int
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes++
	return c.Conn.Write(p)
}

// TestFirstLinesRideWithKeyExchange: the lines in ClientConfig.First go
// out sealed in the key exchange's own write, and the server reads them
// as the first messages of the session.
func TestFirstLinesRideWithKeyExchange(t *testing.T) {
	key := testKey(t, "server-key.pem")
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	read := make(chan []string, 1)
	go func() {
		var got []string
		defer func() { read <- got }()
		srv, err := Server(b, ServerConfig{Key: key})
		if err != nil {
			t.Error(err)
			return
		}
		for range 2 {
			m, err := srv.ReadMessage()
			if err != nil {
				t.Error(err)
				return
			}
			got = append(got, m)
		}
	}()
	cc := &countingConn{Conn: a}
	if _, _, err := Client(cc, ClientConfig{First: []string{"alice", "hi"}}); err != nil {
		t.Fatal(err)
	}
	if cc.writes != 1 {
		t.Errorf("the client made %d writes for the key exchange and its first lines, want 1", cc.writes)
	}
	if got := <-read; len(got) != 2 || got[0] != "alice" || got[1] != "hi" {
		t.Fatalf("the server read %q", got)
	}

	// A first line too long for a record is refused before anything is
	// sent: the server hears nothing, not half a flight.
	a2, b2 := net.Pipe()
	defer b2.Close()
	served := make(chan error, 1)
	go func() {
		_, err := Server(b2, ServerConfig{Key: key})
		served <- err
	}()
	cc = &countingConn{Conn: a2}
	if _, _, err := Client(cc, ClientConfig{First: []string{strings.Repeat("x", MaxLine+1)}}); !errors.Is(err, ErrMessageTooLong) {
		t.Fatalf("an overlong first line: %v", err)
	}
	a2.Close()
	if err := <-served; !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("the server, after the client refused: %v", err)
	}
	if cc.writes != 0 {
		t.Errorf("the client wrote %d times before refusing its first line", cc.writes)
	}
}

func TestClientRefusesBeforeSending(t *testing.T) {
	key := testKey(t, "server-key.pem")
	refused := errors.New("not this key")
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
		body, _ := MarshalHello(&key.PublicKey, SuiteAES128GCM)
		c.Write(AppendRecord(nil, TypeHello, body))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		got <- b
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Client(c, ClientConfig{Verify: func(Hello) error { return refused }})
	c.Close()
	if !errors.Is(err, refused) {
		t.Fatalf("client error %v", err)
	}
	if b := <-got; len(b) != 0 {
		t.Fatalf("a refusing client sent %d bytes: %q", len(b), b)
	}
}

func TestClientRefusesWeakSuiteByDefault(t *testing.T) {
	key := testKey(t, "server-key.pem")
	_, _, cerr, _ := handshakePair(t, ServerConfig{Key: key, Suite: idSuite{SuiteFixedIVGCM}, Timeout: time.Second}, ClientConfig{})
	if cerr == nil || !strings.Contains(cerr.Error(), "does not accept") {
		t.Fatalf("client accepted a weak suite: %v", cerr)
	}
}

// idSuite is AES-128-GCM wearing another suite's id.
type idSuite struct{ id SuiteID }

func (s idSuite) ID() SuiteID                          { return s.id }
func (s idSuite) New(key []byte) (RecordCipher, error) { return AES128GCM().New(key) }

func TestServerHandshakeRejects(t *testing.T) {
	key := testKey(t, "server-key.pem")
	for _, tc := range []struct {
		name string
		send []byte
		want error
	}{
		{"netcat name", []byte("alice\n"), ErrPlainPeer},
		{"http", []byte("GET / HTTP/1.1\r\n\r\n"), ErrPlainPeer},
		{"4 GiB length", []byte{0x02, 0xff, 0xff, 0xff, 0xff}, ErrOversize},
		{"short key exchange", AppendRecord(nil, TypeKeyExchange, make([]byte, 10)), nil},
		{"garbage key exchange", AppendRecord(nil, TypeKeyExchange, make([]byte, WrappedKeySize)), ErrBadRecord},
		{"data before key exchange", AppendRecord(nil, TypeData, make([]byte, 40)), nil},
		{"binary garbage", []byte{0x99, 0x00, 0xfe, 0x13, 0x37, 0x00}, ErrUnknownType},
		// Refused from the header: the server neither waits for nor
		// buffers the 4000 bytes it announces.
		{"long key exchange header alone", []byte{byte(TypeKeyExchange), 0, 0, 0x0f, 0xa0}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					return
				}
				defer c.Close()
				c.Write(tc.send)
				io.Copy(io.Discard, c)
			}()
			c, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Every case is refused on what was sent, never by the clock.
			_, err = Server(c, ServerConfig{Key: key, Timeout: time.Minute})
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server waited for more: %v", err)
			}
		})
	}
}

func TestSlowHandshakeTimesOut(t *testing.T) {
	key := testKey(t, "server-key.pem")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{byte(TypeKeyExchange), 0, 0, 1}) // three of five header bytes, then silence
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = Server(s, ServerConfig{Key: key, Timeout: 200 * time.Millisecond})
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("got %v, want a timeout", err)
	}
}

// FuzzSecureRead feeds arbitrary bytes to a secure connection. Nothing may
// panic, and only records sealed under the right key may be delivered.
func FuzzSecureRead(f *testing.F) {
	for _, v := range readVectors(f, vectorsPath) {
		if b, err := hexField(v, "record"); err == nil {
			f.Add(b)
		}
	}
	rc, _ := AES128GCM().New(keyA)
	f.Add(sealRecord(rc, 0, []byte("alice")))
	f.Fuzz(func(t *testing.T, wire []byte) {
		mc := &memConn{r: bytes.NewReader(wire)}
		s := newConn(mc, AES128GCM())
		if err := s.setKeys(keyB, keyA); err != nil {
			t.Fatal(err)
		}
		for {
			m, err := s.ReadMessage()
			if err != nil {
				return
			}
			// Delivered: it must be exactly what the real sender seals.
			if want := sealRecord(rc, s.recvSeq-1, []byte(m)); !bytes.Contains(wire, want) {
				t.Fatalf("delivered %q, which the sender never sealed", m)
			}
		}
	})
}

// TestRefusedBatchKeepsSequence checks that a batch refused for one
// over-long line seals nothing, so the next write still opens.
func TestRefusedBatchKeepsSequence(t *testing.T) {
	c, mc := endpoint(t, nil, keyA, keyB)
	if err := c.WriteMessages("fine", strings.Repeat("x", MaxLine+1)); !errors.Is(err, ErrMessageTooLong) {
		t.Fatalf("got %v", err)
	}
	if err := c.WriteMessages("next"); err != nil {
		t.Fatal(err)
	}
	got, err := serverReads(t, mc.w.Bytes())
	if len(got) != 1 || got[0] != "next" || err != io.EOF {
		t.Fatalf("after a refused batch: %q %v", got, err)
	}
}

// TestHelloOutlivesReads checks that the Hello a client keeps does not
// share the connection's read buffer.
func TestHelloOutlivesReads(t *testing.T) {
	key := testKey(t, "server-key.pem")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if s, err := Server(c, ServerConfig{Key: key}); err == nil {
			s.WriteMessages(strings.Repeat("z", 400))
			io.Copy(io.Discard, c)
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cli, hello, err := Client(c, ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want := Fingerprint(&key.PublicKey)
	if _, err := cli.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	if got := FingerprintDER(hello.KeyDER); got != want {
		t.Fatalf("the hello changed under a later read: %s, want %s", got, want)
	}
}

func FuzzParseHello(f *testing.F) {
	for _, v := range readVectors(f, vectorsPath) {
		if b, err := hexField(v, "hello-record"); err == nil && len(b) > RecordHeaderLen {
			f.Add(b[RecordHeaderLen:])
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h, err := ParseHello(body)
		if err != nil {
			return
		}
		again, err := MarshalHello(h.PublicKey, h.Suite)
		if err != nil {
			t.Fatal(err)
		}
		if h2, err := ParseHello(again); err != nil || !h2.PublicKey.Equal(h.PublicKey) || h2.Suite != h.Suite {
			t.Fatalf("hello does not round-trip: %v", err)
		}
	})
}

// TestFinishHasADeadline: a handshake run in two steps still gives up on
// a client that takes the hello and sends nothing.
func TestFinishHasADeadline(t *testing.T) {
	h, err := NewHandshaker(ServerConfig{Key: testKey(t, "server-key.pem"), Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c, s := tcpPair(t)
	hello := h.NewHello()
	if _, err := s.Write(hello); err != nil {
		t.Fatal(err)
	}
	// Without a deadline Finish would wait for ever: the client hangs up
	// after a minute, so that such a Finish fails instead.
	hangUp := time.AfterFunc(time.Minute, func() { c.Close() })
	defer hangUp.Stop()
	if _, err := h.Finish(s, hello); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("Finish with a silent client: %v, want a timeout", err)
	}
}

// tcpPair is a loopback TCP connection: the client's end and the server's,
// closed when the test ends.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

// TestClientRefusesVersion1: a version 1 hello has no random, so its
// sessions replay whole; a client refuses it and sends nothing.
func TestClientRefusesVersion1(t *testing.T) {
	key := testKey(t, "server-key.pem")
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	c, s := tcpPair(t)
	if _, err := s.Write(AppendRecord(nil, TypeHello, append([]byte("CLAB\x01\x01"), der...))); err != nil {
		t.Fatal(err)
	}
	_, _, err = Client(c, ClientConfig{})
	if !errors.Is(err, ErrOldServer) || !strings.Contains(err.Error(), "version 1") {
		t.Fatalf("Client with a version 1 hello: %v", err)
	}
	c.Close()
	got, err := io.ReadAll(s)
	if err != nil || len(got) > 0 {
		t.Fatalf("the client sent %d bytes (%v), want none", len(got), err)
	}
}

// TestEveryHelloHasItsOwnRandom: the random is what keeps one session's
// keys from opening another's.
func TestEveryHelloHasItsOwnRandom(t *testing.T) {
	h, err := NewHandshaker(ServerConfig{Key: testKey(t, "server-key.pem")})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 100 {
		rec := h.NewHello()
		_, body, _, err := ParseRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		hello, err := ParseHello(body)
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(hello.Random)] {
			t.Fatalf("random %x repeated", hello.Random)
		}
		seen[string(hello.Random)] = true
	}
}
