package chat

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"chatlab/protocol"
)

// tcpPair is a loopback TCP connection: the server's end, as accepted,
// and the client's. rcvbuf, when not zero, is the client's receive buffer,
// set before it connects so that the window it offers stays small.
func tcpPair(t *testing.T, rcvbuf int) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var d net.Dialer
	if rcvbuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			})
			return errors.Join(err, serr)
		}
	}
	client, err = d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return server, client
}

// manyLines is n lines from empty to MaxLine bytes long.
func manyLines(n int) []string {
	var lines []string
	for i := range n {
		lines = append(lines, strings.Repeat(string(rune('a'+i%26)), (i*131)%(protocol.MaxLine+1)))
	}
	return lines
}

// TestPlainWriterSendsEveryLine: a plain member on TCP sends its lines
// with writev, straight from the queue, and the bytes that arrive are
// exactly what the buffered path writes: across more lines than one
// writev takes, and through the partial writes and waits that small
// buffers and a reader taking a kilobyte at a time force.
func TestPlainWriterSendsEveryLine(t *testing.T) {
	// Small buffers make most writes partial, and many wait for room.
	raw, client := tcpPair(t, 4096)
	raw.(*net.TCPConn).SetWriteBuffer(4096)
	pc := protocol.NewPlainConn(raw)
	m := newMember(pc, raw, newWritePools(), queueLimits{}, time.Minute)
	if !m.plain.ok() {
		t.Fatal("a plain member on TCP does not write with writev")
	}
	lines := manyLines(3*maxIovecs/2 + 3)
	want, _ := pc.AppendMessages(nil, lines...)
	got := make(chan []byte, 1)
	go func() {
		var b []byte
		small := make([]byte, 1000)
		for {
			n, err := client.Read(small)
			b = append(b, small[:n]...)
			if err != nil {
				got <- b
				return
			}
		}
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

// TestPlainWriterRestAfterTimeout: when a write times out part way, what
// arrived and the rest that writeBatch returns make whole lines, exactly
// the first ones sent, so the member can be sent whole lines, then why it
// was dropped.
func TestPlainWriterRestAfterTimeout(t *testing.T) {
	raw, client := tcpPair(t, 4096)
	raw.(*net.TCPConn).SetWriteBuffer(4096)
	pc := protocol.NewPlainConn(raw)
	m := newMember(pc, raw, newWritePools(), queueLimits{}, time.Minute)
	lines := manyLines(2000) // 4 MB: far more than the buffers hold
	want, _ := pc.AppendMessages(nil, lines...)
	// The client reads nothing until the write has given up, so the
	// deadline passes however slow the machine is.
	raw.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	rest, err := m.writeBatch(lines)
	if !isTimeout(err) {
		t.Fatalf("writeBatch to a reader that reads nothing: %v, want a timeout", err)
	}
	raw.Close()
	got, _ := io.ReadAll(client)
	whole := append(got, rest...)
	if len(whole) == 0 || whole[len(whole)-1] != '\n' || !bytes.HasPrefix(want, whole) {
		t.Fatalf("%d bytes arrived and %d are left: not the first whole lines sent (they differ from byte %d)", len(got), len(rest), firstDiff(whole, want))
	}
	if len(rest) > protocol.MaxLine+1 {
		t.Fatalf("the rest is %d bytes, more than one line", len(rest))
	}
}

// TestWriteVecOnlyOnTCP: a connection that is not TCP has no writev, so
// its member writes its lines from a buffer.
func TestWriteVecOnlyOnTCP(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	m := newMember(protocol.NewPlainConn(a), a, newWritePools(), queueLimits{}, time.Minute)
	if m.plain.ok() {
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

// TestPlainWriterAllocatesNothing: a write makes no garbage. Small objects
// made per write share spans with the members' long-lived ones, and left
// idle members costing 6–10 KB more in chat bench when a closure was made
// per write.
func TestPlainWriterAllocatesNothing(t *testing.T) {
	raw, client := tcpPair(t, 0)
	go io.Copy(io.Discard, client)
	pw := newSocketWriter(raw)
	if !pw.ok() {
		t.Fatal("no writev on TCP")
	}
	w := newWritev()
	lines := []string{"* alice joined", "alice: hello", ""}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := pw.write(w, lines); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("a write makes %v allocations", n)
	}
	for i, v := range w.iov[:cap(w.iov)] {
		if v.Base != nil {
			t.Fatalf("iovec %d still points at a line: the pool would keep it alive", i)
		}
	}
}

// TestWriteNow: the accept loop's write of the first bytes sends them all
// to a new TCP connection, nothing to any other kind, and says why when it
// cannot write at all.
func TestWriteNow(t *testing.T) {
	raw, client := tcpPair(t, 0)
	first := []byte(Banner + "\n")
	if n, err := newSocketWriter(raw).writeNow(first); n != len(first) || err != nil {
		t.Fatalf("writeNow to a new TCP connection: %d of %d bytes, %v", n, len(first), err)
	}
	got := make([]byte, len(first))
	if _, err := io.ReadFull(client, got); err != nil || !bytes.Equal(got, first) {
		t.Fatalf("the client read %q, %v", got, err)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if n, err := newSocketWriter(a).writeNow(first); n != 0 || err != nil {
		t.Fatalf("writeNow to a pipe: %d bytes, %v; want nothing written, no error", n, err)
	}
	raw.Close()
	if n, err := newSocketWriter(raw).writeNow(first); n != 0 || err == nil {
		t.Fatalf("writeNow to a closed connection: %d bytes, %v; want an error", n, err)
	}
}

// TestWriterEndsWhenItsLastBatchTimesOut: a member whose last lines (the
// ones finish queues as it leaves) time out is dropped, and its writer
// still ends and closes the connection, though no reader is left to
// queue anything that would wake it. It used to wait for ever, and hold
// up Shutdown with it.
func TestWriterEndsWhenItsLastBatchTimesOut(t *testing.T) {
	for _, mode := range []string{"writev", "buffered"} {
		t.Run(mode, func(t *testing.T) {
			raw, client := tcpPair(t, 4096)
			raw.(*net.TCPConn).SetWriteBuffer(4096)
			m := newMember(protocol.NewPlainConn(raw), raw, newWritePools(), queueLimits{dropLines: 1 << 20, dropBytes: 1 << 30}, 100*time.Millisecond)
			if mode != "writev" {
				m.plain = socketWriter{}
			}
			ended := make(chan struct{})
			go func() {
				m.writeLoop()
				close(ended)
			}()
			m.finish(manyLines(2000)...) // 4 MB to a client that reads nothing
			// It takes the write timeout and then at most the drop's
			// grace; two minutes only tell a hang from a slow machine.
			select {
			case <-ended:
			case <-time.After(2 * time.Minute):
				t.Fatal("the writer never ended")
			}
			if !m.isDropped() {
				t.Fatal("the writer ended without dropping the member")
			}
			// The writer closed the connection: the client reads to EOF.
			if _, err := io.Copy(io.Discard, client); err != nil {
				t.Fatalf("after the writer ended: %v", err)
			}
		})
	}
}
