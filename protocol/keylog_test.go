package protocol

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// tapConn keeps a copy of every byte read and written, as a capture on
// the path would.
type tapConn struct {
	net.Conn
	mu      sync.Mutex
	in, out bytes.Buffer
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.in.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (c *tapConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.out.Write(p)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// TestKeyLogOpensCapturedSession logs both sides of a real handshake and
// then, from the bytes on the wire and the log alone, opens the client's
// first record.
func TestKeyLogOpensCapturedSession(t *testing.T) {
	key := testKey(t, "server-key.pem")
	var serverLog, clientLog bytes.Buffer
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		msg string
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		srv, err := Server(c, ServerConfig{Key: key, KeyLog: NewKeyLogWriter(&serverLog)})
		if err != nil {
			done <- result{err: err}
			return
		}
		msg, err := srv.ReadMessage()
		done <- result{msg, err}
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	tap := &tapConn{Conn: raw}
	cli, _, err := Client(tap, ClientConfig{KeyLog: NewKeyLogWriter(&clientLog)})
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.WriteMessages("alice"); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.msg != "alice" {
		t.Fatalf("server read %q, %v", r.msg, r.err)
	}
	if serverLog.String() != clientLog.String() || strings.Count(clientLog.String(), "\n") != 1 {
		t.Fatalf("the two sides logged\n%q\n%q", serverLog.String(), clientLog.String())
	}

	// What a sniffer has: the records on the wire and the log.
	kl, err := ParseKeyLog(&clientLog)
	if err != nil || kl.Len() != 1 {
		t.Fatalf("parse: %v, %d sessions", err, kl.Len())
	}
	hello := recordAt(t, tap.in.Bytes())
	kex := recordAt(t, tap.out.Bytes())
	first := recordAt(t, tap.out.Bytes()[len(kex):])
	session, ok := kl.Lookup(Transcript(hello, kex))
	if !ok {
		t.Fatal("the transcript of the captured handshake is not in the log")
	}
	c2s, _, err := DeriveKeys(session, Transcript(hello, kex))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := AES128GCM().New(c2s)
	if err != nil {
		t.Fatal(err)
	}
	text, err := rc.Open(nil, 0, first[:RecordHeaderLen], first[RecordHeaderLen:])
	if err != nil || string(text) != "alice" {
		t.Fatalf("the logged key opened %q, %v", text, err)
	}
}

// recordAt returns the whole record at the front of b.
func recordAt(t *testing.T, b []byte) []byte {
	t.Helper()
	_, body, _, err := ParseRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	return b[:RecordHeaderLen+len(body)]
}

func TestParseKeyLogVectors(t *testing.T) {
	f, err := os.Open("testdata/keylog.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kl, err := ParseKeyLog(f)
	if err != nil {
		t.Fatal(err)
	}
	if kl.Len() != 2 {
		t.Fatalf("%d sessions, want 2 (comments, blank lines and other labels are skipped)", kl.Len())
	}
	for _, v := range readVectors(t, "testdata/vectors.txt") {
		if v["kind"] != "handshake" {
			continue
		}
		got, ok := kl.Lookup(v.hex(t, "transcript"))
		if !ok || !bytes.Equal(got, v.hex(t, "session-key")) {
			t.Fatalf("lookup of the vector's transcript: %x %v", got, ok)
		}
		if _, ok := kl.Lookup(v.hex(t, "session-key")); ok {
			t.Fatal("a 16-byte identifier was found")
		}
	}
}

func TestParseKeyLogRefusesMalformed(t *testing.T) {
	id := strings.Repeat("ab", TranscriptSize)
	key := strings.Repeat("cd", SessionKeySize)
	for name, in := range map[string]string{
		"one field":       "CHATLAB_SESSION " + id,
		"three fields":    "CHATLAB_SESSION " + id + " " + key + " extra",
		"short id":        "CHATLAB_SESSION abcd " + key,
		"short key":       "CHATLAB_SESSION " + id + " abcd",
		"not hex":         "CHATLAB_SESSION " + strings.Repeat("zz", TranscriptSize) + " " + key,
		"endless line":    "# " + strings.Repeat("x", maxKeyLogLine),
		"second line bad": "CHATLAB_SESSION " + id + " " + key + "\nCHATLAB_SESSION x y",
	} {
		_, err := ParseKeyLog(strings.NewReader(in))
		if !errors.Is(err, ErrBadKeyLog) {
			t.Errorf("%s: %v, want ErrBadKeyLog", name, err)
		}
		if name == "second line bad" && !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%s: %v does not name line 2", name, err)
		}
	}
}

func TestKeyLogWriterRefusesWrongSizes(t *testing.T) {
	var b bytes.Buffer
	if err := NewKeyLogWriter(&b).Log(make([]byte, 31), make([]byte, SessionKeySize)); err == nil || b.Len() != 0 {
		t.Fatalf("a 31-byte transcript: %v, wrote %q", err, b.String())
	}
}

func TestOpenKeyLogFromEnv(t *testing.T) {
	t.Setenv(KeyLogEnv, "")
	var warn bytes.Buffer
	kl, err := OpenKeyLog(&warn)
	if kl != nil || err != nil || warn.Len() != 0 || kl.Close() != nil {
		t.Fatalf("unset: %v %v %q", kl, err, warn.String())
	}

	path := filepath.Join(t.TempDir(), "keys.log")
	if err := os.WriteFile(path, []byte("# earlier\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(KeyLogEnv, path)
	kl, err = OpenKeyLog(&warn)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warn.String(), path) || !strings.HasPrefix(warn.String(), "warning: ") {
		t.Fatalf("warning %q", warn.String())
	}
	if err := kl.Log(make([]byte, TranscriptSize), make([]byte, SessionKeySize)); err != nil {
		t.Fatal(err)
	}
	if err := kl.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "# earlier\nCHATLAB_SESSION " + strings.Repeat("00", TranscriptSize) + " " + strings.Repeat("00", SessionKeySize) + "\n"
	if string(data) != want {
		t.Fatalf("file holds %q, want %q (appended)", data, want)
	}

	t.Setenv(KeyLogEnv, filepath.Join(t.TempDir(), "no", "such", "dir", "keys.log"))
	if _, err := OpenKeyLog(&warn); err == nil {
		t.Fatal("a key log in a missing directory opened")
	}
}

func FuzzParseKeyLog(f *testing.F) {
	seed, err := os.ReadFile("testdata/keylog.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		kl, err := ParseKeyLog(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Every parsed session survives a write and a parse.
		var out bytes.Buffer
		w := NewKeyLogWriter(&out)
		for id, key := range kl.keys {
			if err := w.Log(id[:], key); err != nil {
				t.Fatal(err)
			}
		}
		again, err := ParseKeyLog(&out)
		if err != nil || again.Len() != kl.Len() {
			t.Fatalf("rewritten log: %v, %d sessions of %d", err, again.Len(), kl.Len())
		}
	})
}
