package chat

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"chatlab/protocol"
)

// TestWriteVecSendsEveryLine: a plain member on TCP sends its lines with
// writev, straight from the queue, and the bytes that arrive are exactly
// what the buffered path writes, across more lines than one writev takes
// and more bytes than one writev sends.
func TestWriteVecSendsEveryLine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	raw, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}

	pc := protocol.NewPlainConn(raw)
	m := newMember(pc, raw, newWritePools(), queueLimits{}, time.Minute)
	if m.vec == nil {
		t.Fatal("a plain member on TCP does not write with writev")
	}
	var lines []string
	for i := range 2*maxVecLines + 3 {
		// From empty to MaxLine: more than maxVecBytes in some writes,
		// more than maxVecLines lines in others.
		lines = append(lines, strings.Repeat(string(rune('a'+i%26)), (i*131)%(protocol.MaxLine+1)))
	}
	want, _ := pc.AppendMessages(nil, lines...)
	if len(want) <= 3*maxVecBytes {
		t.Fatalf("the test sends %d bytes, not enough to need several writes", len(want))
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(client)
		got <- b
	}()
	rest, err := m.writeBatch(lines)
	raw.Close() // what has not come by now never will
	if err != nil || rest != nil {
		t.Fatalf("writeBatch: %v, %d bytes left", err, len(rest))
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("%d bytes arrived, %d were sent; they differ from byte %d", len(b), len(want), firstDiff(b, want))
	}
}

// TestWriteVecOnlyOnTCP: a connection that is not TCP would take one
// write per slice, so its member seals lines into a buffer as before.
func TestWriteVecOnlyOnTCP(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	m := newMember(protocol.NewPlainConn(a), a, newWritePools(), queueLimits{}, time.Minute)
	if m.vec != nil {
		t.Fatal("a member on a pipe writes with writev")
	}
	got := make(chan string, 1)
	go func() {
		buf, _ := io.ReadAll(io.LimitReader(b, int64(len("one\ntwo\n"))))
		got <- string(buf)
	}()
	if _, err := m.writeBatch([]string{"one", "two"}); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "one\ntwo\n" {
		t.Fatalf("the pipe got %q", s)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
