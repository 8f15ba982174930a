//go:build linux

package chat

import (
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxIovecs is the most slices Linux takes in one writev: 512 lines, each
// with its newline.
const maxIovecs = 1024

// socketWriter writes to a TCP connection's socket itself. It sends a
// plain member's lines with writev, straight from the queued strings and
// each followed by a newline, which is their wire form
// (protocol.PlainConn.AppendMessages): a line that goes to 199 members is
// not copied into 199 buffers first, and a burst takes few system calls.
// The iovec arrays come from the server's pool, because Go's own writev
// (net.Buffers) keeps the largest array it ever used with each connection,
// up to 16 KiB a member. It also writes a connection's first bytes
// without waiting (writeNow).
type socketWriter struct {
	conn net.Conn
	rc   syscall.RawConn // nil when conn is not TCP: none of this applies
}

// newSocketWriter returns the writer for c, which applies (ok) only when
// c is TCP.
func newSocketWriter(c net.Conn) socketWriter {
	tc, isTCP := c.(*net.TCPConn)
	if !isTCP {
		return socketWriter{}
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return socketWriter{}
	}
	return socketWriter{conn: c, rc: rc}
}

// ok reports whether the connection is TCP, which the writer applies to.
func (p socketWriter) ok() bool { return p.rc != nil }

// writeNow writes as much of b as the socket takes at once, and never
// waits; it reports how much that was. It writes nothing unless ok.
func (p socketWriter) writeNow(b []byte) (int, error) {
	if !p.ok() {
		return 0, nil
	}
	n, werr := 0, error(nil)
	if err := p.rc.Write(func(fd uintptr) bool {
		n, werr = unix.Write(int(fd), b)
		return true // once: whatever did not go waits for the join
	}); err != nil {
		return 0, err
	}
	switch werr {
	case nil:
		return n, nil
	case unix.EAGAIN, unix.EINTR:
		return 0, nil
	}
	return 0, p.opError(os.NewSyscallError("write", werr))
}

// opError wraps err as net.Conn's own writes do.
func (p socketWriter) opError(err error) error {
	return &net.OpError{Op: "write", Net: "tcp", Source: p.conn.LocalAddr(), Addr: p.conn.RemoteAddr(), Err: err}
}

// newline ends every plain line. Its bytes are a constant's, which
// writev only reads.
const newline = "\n"

// writev is one socketWriter.write under way. The pool keeps them with
// their iovec arrays, and their step bound once, so that a write
// allocates nothing.
type writev struct {
	iov   []unix.Iovec // cap maxIovecs
	used  int          // the most of iov filled: what to clear
	lines []string
	line  int // the next byte to send is lines[line][off:], or its
	off   int // newline when off == len(lines[line])
	err   error
	step  func(fd uintptr) bool // w.send, bound once
}

func newWritev() *writev {
	w := &writev{iov: make([]unix.Iovec, 0, maxIovecs)}
	w.step = w.send
	return w
}

// send makes writev calls until every line has gone (true), the socket
// is full (false: the poller waits for room, or for the deadline), or one
// fails (true, with w.err).
func (w *writev) send(fd uintptr) bool {
	for w.line < len(w.lines) {
		iov := w.iov[:0]
		for i := w.line; i < len(w.lines) && len(iov)+2 <= maxIovecs; i++ {
			text := w.lines[i]
			if i == w.line {
				text = text[min(w.off, len(text)):]
			}
			if len(text) > 0 {
				iov = append(iov, unix.Iovec{Base: unsafe.StringData(text)})
				iov[len(iov)-1].SetLen(len(text))
			}
			iov = append(iov, unix.Iovec{Base: unsafe.StringData(newline)})
			iov[len(iov)-1].SetLen(len(newline))
		}
		w.used = max(w.used, len(iov))
		n, _, errno := unix.Syscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
		switch errno {
		case 0:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			w.err = os.NewSyscallError("writev", errno)
			return true
		}
		// Move past what went: whole lines, then part of one.
		for sent := int(n); sent > 0; {
			left := len(w.lines[w.line]) + len(newline) - w.off
			if sent < left {
				w.off += sent
				break
			}
			sent -= left
			w.line, w.off = w.line+1, 0
		}
	}
	return true
}

// write sends lines under the connection's write deadline, with w from
// the pool. When it fails part way through a line, rest is the unsent end
// of that line and its newline, so that the member can be sent whole
// lines, then why it was dropped (see member.writeLoop).
func (p socketWriter) write(w *writev, lines []string) (rest []byte, err error) {
	w.lines, w.line, w.off, w.err = lines, 0, 0, nil
	err = p.rc.Write(w.step)
	if err == nil && w.err != nil {
		err = p.opError(w.err)
	}
	if err != nil && w.off > 0 && isTimeout(err) {
		l := lines[w.line]
		rest = append([]byte(l[min(w.off, len(l)):]), newline...)
	}
	clear(w.iov[:w.used]) // no pooled array may keep the lines alive
	w.lines, w.used, w.err = nil, 0, nil
	return rest, err
}
