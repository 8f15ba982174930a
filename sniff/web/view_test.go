package web

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"chatlab/sniff/event"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func testConn(id int, proto event.Proto) *event.Conn {
	return &event.Conn{ID: id, Client: netip.MustParseAddrPort("127.0.0.1:51000"),
		Server: netip.MustParseAddrPort("127.0.0.1:9000"), Proto: proto, FromStart: true}
}

// secureRecord is the client's second record of protocol/PROTOCOL.md's
// example, "hello bob" at seq 1, with the fields sniff gives it.
func secureRecord(c *event.Conn, msg *event.Message) *event.Unit {
	b, _ := hex.DecodeString("1700000025" + "000000000000000000000001" + "a1a2a3a4a5a6a7a8a9" + "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf")
	return &event.Unit{Conn: c, Dir: event.ClientToServer, Kind: event.KindRecord, Number: 3, Packet: 12, Bytes: b,
		Fields: []event.Field{
			{Name: "type", Off: 0, Len: 1, Show: event.ShowNum, Num: 0x17},
			{Name: "length", Off: 1, Len: 4, Show: event.ShowNum, Num: 37},
			{Name: "nonce", Off: 5, Len: 12, Show: event.ShowHex},
			{Name: "seq", Off: 9, Len: 8, Show: event.ShowNum, Num: 1},
			{Name: "ciphertext", Off: 17, Len: 9, Show: event.ShowSize},
			{Name: "tag", Off: 26, Len: 16, Show: event.ShowHex},
		},
		Keys:    []event.Key{{Name: "client → server key", Bytes: []byte{0xd0, 0x0a, 0x98, 0xa7}, Via: event.ViaKey}},
		Message: msg}
}

func plainLine(c *event.Conn, dir event.Dir, kind event.MessageKind, from, text string) *event.Unit {
	line := text
	if from != "" {
		line = from + ": " + text
	}
	b := []byte(line + "\n")
	return &event.Unit{Conn: c, Dir: dir, Kind: event.KindLine, Packet: 4, Bytes: b,
		Fields:  []event.Field{{Name: "text", Off: 0, Len: len(line), Show: event.ShowText, Text: line}},
		Message: &event.Message{Kind: kind, From: from, Text: text}}
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", name, err, got)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, pretty.Bytes(), want)
	}
}

func TestJSONConn(t *testing.T) {
	checkGolden(t, "conn.json", encode(newConn(testConn(1, event.ProtoSecure))))
}

func TestJSONSecureRecord(t *testing.T) {
	c := testConn(1, event.ProtoSecure)
	u := secureRecord(c, &event.Message{Kind: event.MsgText, Text: "hello bob", Via: event.ViaKey})
	u.Warnings = []event.Warning{{Conn: c, Kind: event.WarnIVReuse, Text: "record 3 repeats the nonce of record 2", Ref: 2}}
	checkGolden(t, "record.json", encode(newUnit(u)))
}

func TestJSONPlainLine(t *testing.T) {
	c := testConn(2, event.ProtoPlain)
	checkGolden(t, "line.json", encode(newUnit(plainLine(c, event.ServerToClient, event.MsgChat, "bob", "hi alice"))))
}

// TestJSONHostile sends names and messages a hostile member could choose
// and checks that each arrives as the same text (or, for invalid UTF-8,
// with U+FFFD in place of the bad bytes), cut to its limit, with no
// character the page could take for markup.
func TestJSONHostile(t *testing.T) {
	huge := strings.Repeat("A", 1<<20)
	cases := []struct{ name, from, text string }{
		{"script", "<script>alert(1)</script>", "<script>alert('x')</script>"},
		{"html", "<b onmouseover=\"x()\">eve</b>", "<img src=x onerror=alert(1)><a href='javascript:x'>y</a>"},
		{"quotes", `"'` + "`", `"); alert('\` + "`"},
		{"invalid utf-8", "ev\xffe", "caf\xc3 \xfe\xfe \xed\xa0\x80"},
		{"huge", huge, huge},
		{"controls", "e\x00v\x1b[31me", "line\r\nbreak\u2028sep\x7f"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := testConn(1, event.ProtoPlain)
			u := plainLine(c, event.ServerToClient, event.MsgChat, tc.from, tc.text)
			u.Note = tc.text
			u.Warnings = []event.Warning{{Kind: event.WarnMalformed, Text: tc.text}}
			b := encode(newUnit(u))
			if bytes.ContainsAny(b, "<>\n\r") || bytes.Contains(b, []byte("\u2028")) {
				t.Fatalf("markup or a line break in the JSON: %.200s", b)
			}
			if !utf8.Valid(b) {
				t.Fatal("JSON is not UTF-8")
			}
			var got Unit
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			// encoding/json writes U+FFFD for each byte that is not UTF-8.
			want := func(s string, n int) string { return string([]rune(clip(s, n))) }
			if got.Message.From != want(tc.from, maxName) {
				t.Errorf("from = %.80q, want %.80q", got.Message.From, want(tc.from, maxName))
			}
			if got.Message.Text != want(tc.text, maxText) {
				t.Errorf("text = %.80q, want %.80q", got.Message.Text, want(tc.text, maxText))
			}
			if got.Message.Cut != (len(tc.text) > maxText) {
				t.Errorf("cut = %v for %d bytes", got.Message.Cut, len(tc.text))
			}
			if len(got.Note) > maxText || len(got.Warnings[0].Text) > maxText || len(got.Fields[0].Value) > maxText {
				t.Errorf("a note, warning or field over %d bytes", maxText)
			}
			if len(got.Hex) > 2*maxUnitBytes || got.Size != len(u.Bytes) || got.Cut != (len(u.Bytes) > maxUnitBytes) {
				t.Errorf("hex %d chars, size %d, cut %v for a %d-byte unit", len(got.Hex), got.Size, got.Cut, len(u.Bytes))
			}
			raw, _ := hex.DecodeString(got.Hex)
			if !bytes.Equal(raw, u.Bytes[:len(raw)]) {
				t.Error("hex is not the unit's bytes")
			}
		})
	}
}

// TestJSONFieldRanges checks that a field reaching past its unit is cut
// to the bytes there are, so the page never indexes beyond them.
func TestJSONFieldRanges(t *testing.T) {
	u := &event.Unit{Conn: testConn(1, event.ProtoOther), Bytes: []byte("abc"), Fields: []event.Field{
		{Name: "over", Off: 2, Len: 10}, {Name: "past", Off: 9, Len: 1}, {Name: "negative", Off: -3, Len: -1},
	}}
	got := newUnit(u)
	for _, f := range got.Fields {
		if f.Off < 0 || f.Len < 0 || f.Off+f.Len > 3 {
			t.Errorf("field %s: [%d, +%d) in 3 bytes", f.Name, f.Off, f.Len)
		}
	}
}

// TestEmitCopies scribbles over an event's bytes and strings after Emit,
// as the dissectors reuse their buffers, and checks the history kept
// its own copy.
func TestEmitCopies(t *testing.T) {
	v := New("test")
	c := testConn(1, event.ProtoSecure)
	text := []byte("hello bob")
	u := secureRecord(c, &event.Message{Kind: event.MsgText, Text: string(text), Via: event.ViaKey})
	v.Emit(&event.Open{Conn: c})
	v.Emit(u)
	before := string(v.hist.appendTo(nil)[0])
	for i := range u.Bytes {
		u.Bytes[i] = 0
	}
	u.Fields[2].Off = 0
	u.Keys[0].Bytes[0] = 0
	u.Message.Text = "overwritten"
	after := string(v.hist.appendTo(nil)[0])
	if before != after || !strings.Contains(after, "hello bob") || !strings.Contains(after, "1700000025") {
		t.Errorf("history changed with the event's buffers:\n%s\n%s", before, after)
	}
}

// sse reads a server-sent event stream.
type sse struct {
	t    *testing.T
	resp *http.Response
	sc   *bufio.Scanner
}

func openStream(t *testing.T, url string) *sse {
	t.Helper()
	resp, err := http.Get(url + "/events")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	return &sse{t: t, resp: resp, sc: sc}
}

// next returns the next message's JSON, decoded into a map, or fails.
// The test's deadline (go test -timeout) bounds a wait that never ends;
// closing the body on cleanup ends the read.
func (s *sse) next() map[string]any {
	s.t.Helper()
	for s.sc.Scan() {
		line := s.sc.Text()
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			s.t.Fatalf("bad message %q: %v", data, err)
		}
		return m
	}
	s.t.Fatalf("stream ended: %v", s.sc.Err())
	return nil
}

// until returns the next message of type typ, skipping others.
func (s *sse) until(typ string) map[string]any {
	s.t.Helper()
	for {
		if m := s.next(); m["type"] == typ {
			return m
		}
	}
}

func TestStreamOrder(t *testing.T) {
	v := New("sniff lo port 9000")
	srv := httptest.NewServer(v)
	t.Cleanup(srv.Close)
	plain, secure := testConn(1, event.ProtoUnknown), testConn(2, event.ProtoSecure)
	v.Emit(&event.Open{Conn: plain})
	v.Emit(plainLine(plain, event.ClientToServer, event.MsgName, "", "alice"))

	s := openStream(t, srv.URL)
	if m := s.next(); m["type"] != "start" || m["title"] != "sniff lo port 9000" {
		t.Fatalf("first message %v", m)
	}
	if m := s.next(); m["type"] != "conn" || m["id"] != 1.0 || m["proto"] != "unknown" {
		t.Fatalf("then %v, want connection 1", m)
	}
	if m := s.until("unit"); m["message"].(map[string]any)["text"] != "alice" {
		t.Fatalf("history: %v", m)
	}
	// Live from here.
	plain.Proto = event.ProtoPlain
	v.Emit(&event.Recognised{Conn: plain})
	if m := s.until("conn"); m["proto"] != "plain" {
		t.Fatalf("recognised: %v", m)
	}
	v.Emit(&event.Open{Conn: secure})
	v.Emit(secureRecord(secure, nil))
	v.Emit(&event.Warning{Conn: secure, Kind: event.WarnBadRecord, Text: "record 4 did not open"})
	if m := s.until("conn"); m["id"] != 2.0 {
		t.Fatalf("second connection: %v", m)
	}
	u := s.until("unit")
	if u["conn"] != 2.0 || u["kind"] != "record" || u["message"] != nil || len(u["fields"].([]any)) != 6 {
		t.Fatalf("record: %v", u)
	}
	if w := s.until("warning"); w["kind"] != "bad-record" || w["conn"] != 2.0 {
		t.Fatalf("warning: %v", w)
	}
}

// TestStreamLateHistory opens a page after more units than the history
// keeps: it gets the latest maxHistory, oldest first, and every
// connection.
func TestStreamLateHistory(t *testing.T) {
	v := New("test")
	srv := httptest.NewServer(v)
	t.Cleanup(srv.Close)
	c := testConn(1, event.ProtoPlain)
	v.Emit(&event.Open{Conn: c})
	total := maxHistory + 500
	for i := range total {
		u := plainLine(c, event.ClientToServer, event.MsgText, "", "")
		u.Packet = i + 1
		v.Emit(u)
	}
	v.Emit(&event.Warning{Kind: event.WarnOverflow, Text: "last"})
	s := openStream(t, srv.URL)
	if m := s.until("conn"); m["id"] != 1.0 {
		t.Fatalf("connection: %v", m)
	}
	first := s.until("unit")
	if first["packet"] != float64(total-maxHistory+2) {
		t.Fatalf("oldest kept is packet %v, want %d", first["packet"], total-maxHistory+2)
	}
	n := 1
	for {
		m := s.next()
		if m["type"] == "warning" {
			break
		}
		n++
	}
	if n != maxHistory-1 {
		t.Errorf("%d units before the warning, want %d", n, maxHistory-1)
	}
}

// TestHistoryBytes keeps the history under its byte budget with the
// largest units.
func TestHistoryBytes(t *testing.T) {
	var h history
	big := bytes.Repeat([]byte("x"), maxHistoryBytes/10+1)
	for range 100 {
		h.add(big)
	}
	if h.size > maxHistoryBytes || len(h.msgs) != 9 {
		t.Errorf("%d messages, %d bytes; want 9 under %d", len(h.msgs), h.size, maxHistoryBytes)
	}
}

// TestStats checks the live counts from segments, and the Summary's
// final ones replacing them.
func TestStats(t *testing.T) {
	v := New("test")
	srv := httptest.NewServer(v)
	t.Cleanup(srv.Close)
	c := testConn(1, event.ProtoPlain)
	v.Emit(&event.Open{Conn: c})
	s := openStream(t, srv.URL)
	s.until("conn")
	v.Emit(&event.Segment{Conn: c, Payload: []byte("aab\n")})
	v.Emit(&event.Segment{Conn: c, Payload: []byte{0xff}})
	var m map[string]any
	for m = s.until("stats"); m["packets"] != 2.0; m = s.until("stats") {
	}
	hist := m["hist"].([]any)
	if len(hist) != 256 || hist['a'] != 2.0 || hist['b'] != 1.0 || hist['\n'] != 1.0 || hist[0xff] != 1.0 {
		t.Errorf("histogram: a=%v b=%v nl=%v ff=%v", hist['a'], hist['b'], hist['\n'], hist[0xff])
	}
	if m["bytes"] != 5.0 || m["printable"] != 0.8 || m["small"] != true || m["final"] != false {
		t.Errorf("stats: %v", m)
	}
	if e := m["entropy"].(float64); e < 1.92 || e > 1.93 { // -(0.4 log 0.4 + 3 × 0.2 log 0.2) = 1.922
		t.Errorf("entropy %v", e)
	}
	var h [256]uint64
	h[0x41] = 2000
	v.Emit(&event.Summary{Conns: []event.ConnStats{{ID: 1, Proto: event.ProtoPlain, Packets: 9, Bytes: 2000,
		Entropy: 0, Printable: 1, Hist: &h}}, Capture: &event.CaptureStats{Received: 10, Dropped: 1}})
	// Live stats sent before the Summary may still be on their way.
	for m = s.until("stats"); m["final"] != true; m = s.until("stats") {
	}
	if m["bytes"] != 2000.0 || m["small"] != false || m["hist"].([]any)[0x41] != 2000.0 {
		t.Errorf("final stats: %v", m)
	}
}

// TestSlowPage holds a page open without reading it while the sniffer
// emits far more than its queue holds: Emit must come back every time
// (a blocked Emit would hang the test), and the page, once it reads, is
// told what it missed.
func TestSlowPage(t *testing.T) {
	v := New("test")
	srv := httptest.NewServer(v)
	t.Cleanup(srv.Close)
	s := openStream(t, srv.URL)
	s.until("start")
	c := testConn(1, event.ProtoOther)
	v.Emit(&event.Open{Conn: c})
	big := &event.Unit{Conn: c, Kind: event.KindRaw, Bytes: bytes.Repeat([]byte{0x41}, maxUnitBytes)}
	// 48 MiB of JSON: far more than the queue (4 MiB), loopback's
	// socket buffers (a few MiB) and the writer's batch together hold.
	n := 48 << 20 / (2 * maxUnitBytes)
	for range n {
		v.Emit(big)
	}
	v.mu.Lock()
	for cl := range v.clients {
		cl.mu.Lock()
		if len(cl.queue) > maxQueue || cl.size > maxQueueBytes {
			t.Errorf("queue %d messages, %d bytes", len(cl.queue), cl.size)
		}
		cl.mu.Unlock()
	}
	v.mu.Unlock()
	if m := s.until("note"); !strings.Contains(m["text"].(string), "fell behind") {
		t.Errorf("note: %v", m)
	}
}

func TestClientQueue(t *testing.T) {
	c := newClient()
	for range maxQueue + 10 {
		c.push([]byte("{}"))
	}
	msgs, _ := c.take()
	if len(msgs) != maxQueue+1 || !bytes.Contains(msgs[maxQueue], []byte("10 messages were dropped")) {
		t.Errorf("%d messages, last %s", len(msgs), msgs[len(msgs)-1])
	}
	c.markStats(3)
	c.markStats(3)
	if msgs, ids := c.take(); len(msgs) != 0 || len(ids) != 1 || ids[0] != 3 {
		t.Errorf("stats coalesced to %v, with %d messages", ids, len(msgs))
	}
}

func TestTooManyPages(t *testing.T) {
	v := New("test")
	for range maxClients {
		v.clients[newClient()] = struct{}{}
	}
	srv := httptest.NewServer(v)
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// TestDoneReachesLatePages: once the source has ended, a page opened
// later is told so after the history.
func TestDoneReachesLatePages(t *testing.T) {
	v := New("t")
	v.Done("the file is read")
	snap := v.snapshot()
	if last := string(snap[len(snap)-1]); !strings.Contains(last, `"type":"done"`) || !strings.Contains(last, "the file is read") {
		t.Errorf("the last message of a late page is %s", last)
	}
}
