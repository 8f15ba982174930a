package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"unicode/utf8"
)

// MessageConn carries chat lines in either mode. The server and client use
// it without caring whether the lines are encrypted.
type MessageConn interface {
	// ReadMessage returns the next line, without its newline.
	ReadMessage() (string, error)
	// ReadMessageBytes is ReadMessage without the copy: the line points
	// into the connection's buffers, and is valid until the next read.
	ReadMessageBytes() ([]byte, error)
	// MessageBuffered reports whether a whole message (or a bad one) has
	// been read off the network already, so that the next read returns
	// at once: a server gathers what came together, and sends it on in
	// one go.
	MessageBuffered() bool
	// WriteMessages sends lines in order, in as few writes as it can.
	WriteMessages(msgs ...string) error
	// NetConn is the connection underneath.
	NetConn() net.Conn
	Close() error
}

// ErrMessageTooLong is returned for a line or plaintext over MaxLine.
var ErrMessageTooLong = fmt.Errorf("protocol: message longer than %d bytes", MaxLine)

// ErrNotUTF8 is returned for a line or plaintext that is not valid UTF-8.
var ErrNotUTF8 = errors.New("protocol: message is not valid UTF-8")

// Conn is a secure connection after a successful handshake. Errors are
// sticky: once a direction fails, it stays failed.
type Conn struct {
	raw     net.Conn
	rr      recordReader
	suite   CipherSuite
	send    RecordCipher
	recv    RecordCipher
	sendSeq uint64
	recvSeq uint64
	readErr error
	wErr    error
	wbuf    []byte
	scratch []byte
	plain   []byte
}

func newConn(c net.Conn, suite CipherSuite) *Conn {
	return &Conn{raw: c, suite: suite, rr: recordReader{r: newReader(c)}}
}

// ShareReadBuffers makes the connection borrow its large read buffer
// from b while it is busy, and give it back when it is not.
func (c *Conn) ShareReadBuffers(b *ReadBuffers) { c.rr.r.lend = b }

func (c *Conn) setKeys(sendKey, recvKey []byte) error {
	var err error
	if c.send, err = c.suite.New(sendKey); err != nil {
		return err
	}
	c.recv, err = c.suite.New(recvKey)
	return err
}

// Suite is the cipher suite the handshake agreed on.
func (c *Conn) Suite() SuiteID { return c.suite.ID() }

// NetConn returns the connection underneath.
func (c *Conn) NetConn() net.Conn { return c.raw }

// Close closes the connection underneath.
func (c *Conn) Close() error { return c.raw.Close() }

// ReadMessage reads and opens the next data record.
func (c *Conn) ReadMessage() (string, error) {
	b, err := c.ReadMessageBytes()
	return string(b), err
}

// MessageBuffered reports whether a whole record is buffered, or a header
// that ReadMessage refuses at once.
func (c *Conn) MessageBuffered() bool {
	b := c.rr.r.unread()
	if len(b) < RecordHeaderLen {
		return false
	}
	h, err := ParseHeader(b)
	return err != nil || len(b) >= RecordHeaderLen+int(h.Length)
}

// ReadMessageBytes is ReadMessage without the copy.
func (c *Conn) ReadMessageBytes() ([]byte, error) {
	if c.readErr != nil {
		return nil, c.readErr
	}
	h, body, err := c.rr.next()
	if err == nil && h.Type != TypeData {
		err = ErrBadRecord
	}
	if err == nil {
		// The header as read is the additional data; a copy on the
		// stack would escape through the interface.
		c.plain, err = c.recv.Open(c.plain[:0], c.recvSeq, c.rr.hdr[:], body)
	}
	if err == nil && len(c.plain) > MaxLine {
		err = ErrMessageTooLong
	}
	if err == nil && !utf8.Valid(c.plain) {
		err = ErrNotUTF8
	}
	if err != nil {
		// After the handshake every framing or authentication failure is
		// the same error, so a peer learns nothing about which check
		// failed. I/O errors (EOF, timeouts, resets) pass through.
		if errors.Is(err, ErrTruncated) || errors.Is(err, ErrUnknownType) || errors.Is(err, ErrOversize) ||
			errors.Is(err, ErrBadRecord) || errors.Is(err, ErrMessageTooLong) || errors.Is(err, ErrNotUTF8) {
			err = ErrBadRecord
		}
		c.readErr = err
		return nil, err
	}
	c.recvSeq++
	return c.plain, nil
}

// WriteMessages seals each line into its own record and sends them all in
// one write.
func (c *Conn) WriteMessages(msgs ...string) error {
	if c.wErr != nil {
		return c.wErr
	}
	var err error
	if c.wbuf, err = c.AppendMessages(c.wbuf[:0], msgs...); err != nil {
		return err
	}
	if _, err := c.raw.Write(c.wbuf); err != nil {
		c.wErr = err
		return err
	}
	return nil
}

// AppendMessages seals each line into its own record, appends the records
// to dst and returns it; the caller writes them, in order, before any other
// write on the connection. A server that writes for many members keeps
// its buffers itself this way, and can finish a write that timed out.
func (c *Conn) AppendMessages(dst []byte, msgs ...string) ([]byte, error) {
	// Check every line before sealing any: a refusal part-way would leave
	// sendSeq ahead of what the peer has seen.
	for _, m := range msgs {
		if len(m) > MaxLine {
			return dst, ErrMessageTooLong
		}
	}
	for _, m := range msgs {
		if c.sendSeq == ^uint64(0) {
			panic("protocol: sequence number wrapped around")
		}
		start := len(dst)
		dst = Header{Type: TypeData, Length: uint32(c.send.SealedLen(len(m)))}.Marshal(dst)
		h := dst[start:]
		c.scratch = append(c.scratch[:0], m...)
		dst = c.send.Seal(dst, c.sendSeq, h, c.scratch)
		c.sendSeq++
	}
	return dst, nil
}

// PlainConn carries newline-terminated UTF-8 lines with no protection.
type PlainConn struct {
	raw  net.Conn
	br   *reader
	wbuf []byte
	// long is the length so far of the last line refused as too long, and
	// longDone says whether its end has been read (see SkipLine).
	long     int
	longDone bool
}

// NewPlainConn wraps c for plain mode.
func NewPlainConn(c net.Conn) *PlainConn {
	return &PlainConn{raw: c, br: newReader(c)}
}

// ShareReadBuffers is Conn.ShareReadBuffers.
func (p *PlainConn) ShareReadBuffers(b *ReadBuffers) { p.br.lend = b }

// NetConn returns the connection underneath.
func (p *PlainConn) NetConn() net.Conn { return p.raw }

// Close closes the connection underneath.
func (p *PlainConn) Close() error { return p.raw.Close() }

// Peek returns the next n bytes (at most BusyReadBufferSize) without
// reading them, so a caller can look at the first bytes (to spot a secure
// server) without losing them. With fewer bytes it returns the error that
// ended them.
func (p *PlainConn) Peek(n int) ([]byte, error) { return p.br.peek(n) }

// ReadMessage reads one line of at most MaxLine bytes. A trailing "\r" is
// dropped, so netcat and telnet lines read the same.
func (p *PlainConn) ReadMessage() (string, error) {
	b, err := p.ReadMessageBytes()
	return string(b), err
}

// MessageBuffered reports whether a whole line is buffered.
func (p *PlainConn) MessageBuffered() bool {
	return bytes.IndexByte(p.br.unread(), '\n') >= 0
}

// ReadMessageBytes is ReadMessage without the copy.
func (p *PlainConn) ReadMessageBytes() ([]byte, error) {
	line, n, done, err := readLine(p.br, MaxLine)
	if err != nil {
		if err == ErrMessageTooLong {
			p.long, p.longDone = n, done
		}
		return nil, err
	}
	return line, nil
}

// SkipLine reads and drops the rest of a line that ReadMessage refused as
// too long, so the connection can go on with the next line. It returns
// the length of the whole line with its line break, and reads nothing if
// the refused line was read to its end already.
func (p *PlainConn) SkipLine() (int, error) {
	n, done := p.long, p.longDone
	p.long, p.longDone = 0, true
	if done {
		return n, nil
	}
	for {
		frag, err := p.br.readSlice('\n')
		n += len(frag)
		if err == nil {
			return n, nil
		}
		if err != bufio.ErrBufferFull {
			return n, err
		}
	}
}

// readLine reads a line of at most max bytes (max+2 is under
// BusyReadBufferSize) from br, and stops reading as soon as the limit is
// passed, so an endless line costs nothing. The line points into br's
// buffer: it is valid until the next read. For a line refused as too
// long it also says how many of its bytes were read, and whether they
// include its end.
func readLine(br *reader, max int) ([]byte, int, bool, error) {
	line, err := br.readSlice('\n')
	if len(line) > max+2 { // room for "\r\n"
		return nil, len(line), err == nil, ErrMessageTooLong
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, 0, false, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) > max {
		return nil, len(line) + 1, true, ErrMessageTooLong
	}
	if !utf8.Valid(line) {
		return nil, 0, false, ErrNotUTF8
	}
	return line, 0, false, nil
}

// WriteMessages sends each line followed by a newline, in one write.
func (p *PlainConn) WriteMessages(msgs ...string) error {
	p.wbuf, _ = p.AppendMessages(p.wbuf[:0], msgs...)
	_, err := p.raw.Write(p.wbuf)
	return err
}

// AppendMessages appends each line and a newline to dst, as Conn's does.
func (p *PlainConn) AppendMessages(dst []byte, msgs ...string) ([]byte, error) {
	for _, m := range msgs {
		dst = append(dst, m...)
		dst = append(dst, '\n')
	}
	return dst, nil
}
