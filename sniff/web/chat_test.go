package web

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"chatlab/protocol"
	"chatlab/protocol/chat"
	"chatlab/sniff/event"
)

// chatDeadline bounds every wait of a live chat in these tests.
const chatDeadline = 20 * time.Second

// wireTap turns what one client's connection carries into events, as
// sniff's dissectors do: a Segment per read or write, and a Unit per
// plain line or secure record. It scribbles over its buffers after each
// Emit, so a sink that keeps them without copying shows garbage.
type wireTap struct {
	mu     sync.Mutex
	sink   event.Sink
	conn   *event.Conn
	mode   chat.Mode
	packet int
	number int
	bufs   [2][]byte
	lines  [2]int
}

// tapConn reports a net.Conn's traffic to a wireTap.
type tapConn struct {
	net.Conn
	tap *wireTap
}

func (c tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.tap.data(event.ServerToClient, b[:n])
	}
	return n, err
}

func (c tapConn) Write(b []byte) (int, error) {
	c.tap.data(event.ClientToServer, b)
	return c.Conn.Write(b)
}

func (t *wireTap) emit(e event.Event) {
	t.sink.Emit(e)
	if f, ok := t.sink.(event.Flusher); ok {
		f.Flush()
	}
}

func (t *wireTap) data(dir event.Dir, b []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.packet++
	payload := bytes.Clone(b)
	t.emit(&event.Segment{Conn: t.conn, Dir: dir, Packet: t.packet, Time: time.Now(), Flags: event.PSH | event.ACK,
		Len: len(b), Captured: len(b), Payload: payload})
	scribble(payload)
	t.bufs[dir] = append(t.bufs[dir], b...)
	if t.mode == chat.Plain {
		t.plainLines(dir)
	} else {
		t.records(dir)
	}
}

func scribble(b []byte) {
	for i := range b {
		b[i] = 'X'
	}
}

func (t *wireTap) plainLines(dir event.Dir) {
	for {
		buf := t.bufs[dir]
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			return
		}
		unit := bytes.Clone(buf[:i+1])
		text := strings.TrimSuffix(string(unit[:i]), "\r")
		t.bufs[dir] = buf[i+1:]
		m := &event.Message{Kind: event.MsgText, Text: text}
		switch {
		case dir == event.ClientToServer && t.lines[dir] == 0:
			m.Kind = event.MsgName
		case dir == event.ClientToServer && strings.HasPrefix(text, "/"):
			m.Kind = event.MsgCommand
		case strings.HasPrefix(text, "* "):
			m.Kind = event.MsgNotice
		default:
			if from, rest, ok := strings.Cut(text, ": "); ok && dir == event.ServerToClient {
				m.Kind, m.From, m.Text = event.MsgChat, from, rest
			} else if dir == event.ServerToClient {
				m.Kind = event.MsgLine
			}
		}
		t.lines[dir]++
		t.emit(&event.Unit{Conn: t.conn, Dir: dir, Kind: event.KindLine, Packet: t.packet, Bytes: unit,
			Fields: []event.Field{{Name: "text", Off: 0, Len: i, Show: event.ShowText, Text: text}}, Message: m})
		scribble(unit)
	}
}

func (t *wireTap) records(dir event.Dir) {
	for {
		h, body, rest, err := protocol.ParseRecord(t.bufs[dir])
		if errors.Is(err, protocol.ErrTruncated) {
			return
		}
		if err != nil {
			t.emit(&event.Warning{Conn: t.conn, Dir: dir, Kind: event.WarnMalformed, Text: "not a record: " + err.Error()})
			t.bufs[dir] = nil
			return
		}
		n := protocol.RecordHeaderLen + len(body)
		unit := bytes.Clone(t.bufs[dir][:n])
		t.bufs[dir] = rest
		fields := []event.Field{
			{Name: "type", Off: 0, Len: 1, Show: event.ShowNum, Num: uint64(h.Type)},
			{Name: "length", Off: 1, Len: 4, Show: event.ShowNum, Num: uint64(h.Length)},
		}
		u := &event.Unit{Conn: t.conn, Dir: dir, Packet: t.packet, Bytes: unit}
		switch h.Type {
		case 0x01:
			u.Kind = event.KindHello
			fields = append(fields,
				event.Field{Name: "magic", Off: 5, Len: 4, Show: event.ShowText, Text: string(unit[5:9])},
				event.Field{Name: "version", Off: 9, Len: 1, Show: event.ShowNum, Num: uint64(unit[9])},
				event.Field{Name: "suite", Off: 10, Len: 1, Show: event.ShowNum, Num: uint64(unit[10])},
				event.Field{Name: "public key", Off: 11, Len: n - 11, Show: event.ShowSize})
		case 0x02:
			u.Kind = event.KindKeyExchange
			fields = append(fields, event.Field{Name: "wrapped key", Off: 5, Len: n - 5, Show: event.ShowSize})
		default:
			u.Kind = event.KindRecord
			t.number++
			u.Number = t.number
			seq := binary.BigEndian.Uint64(unit[9:17])
			fields = append(fields,
				event.Field{Name: "nonce", Off: 5, Len: 12, Show: event.ShowHex},
				event.Field{Name: "seq", Off: 9, Len: 8, Show: event.ShowNum, Num: seq},
				event.Field{Name: "ciphertext", Off: 17, Len: n - 17 - 16, Show: event.ShowSize},
				event.Field{Name: "tag", Off: n - 16, Len: 16, Show: event.ShowHex})
		}
		u.Fields = fields
		t.emit(u)
		scribble(unit)
	}
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

// liveChat runs a chat on loopback in mode: alice, whose connection is
// tapped as connection id, joins, bob joins, alice says each of says and
// bob answers "hi alice". It returns when alice has left.
func liveChat(t *testing.T, sink event.Sink, mode chat.Mode, id int, says []string) {
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

	tap := &wireTap{sink: sink, mode: mode}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		ap := func(a net.Addr) netip.AddrPort { return a.(*net.TCPAddr).AddrPort() }
		tap.conn = &event.Conn{ID: id, Client: ap(c.LocalAddr()), Server: ap(c.RemoteAddr()), FromStart: true,
			Proto: event.ProtoUnknown}
		tap.emit(&event.Open{Conn: tap.conn})
		tap.conn.Proto = event.ProtoSecure
		if mode == chat.Plain {
			tap.conn.Proto = event.ProtoPlain
		}
		tap.emit(&event.Recognised{Conn: tap.conn})
		return tapConn{c, tap}, nil
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
