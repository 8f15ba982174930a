package protocol

import (
	"bufio"
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
	// WriteMessages sends lines in order, in as few writes as it can.
	WriteMessages(msgs ...string) error
	// NetConn is the connection underneath.
	NetConn() net.Conn
	Close() error
}

// readBufferSize is the per-connection read buffer. Records and lines are
// small; 2 KiB keeps an idle connection cheap and still reads most
// messages in one system call.
const readBufferSize = 2048

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
	return &Conn{raw: c, suite: suite, rr: recordReader{r: bufio.NewReaderSize(c, readBufferSize)}}
}

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
	if c.readErr != nil {
		return "", c.readErr
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
		return "", err
	}
	c.recvSeq++
	return string(c.plain), nil
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
	br   *bufio.Reader
	wbuf []byte
	// long is the length so far of the last line refused as too long, and
	// longDone says whether its end has been read (see SkipLine).
	long     int
	longDone bool
}

// NewPlainConn wraps c for plain mode.
func NewPlainConn(c net.Conn) *PlainConn {
	return &PlainConn{raw: c, br: bufio.NewReaderSize(c, readBufferSize)}
}

// NetConn returns the connection underneath.
func (p *PlainConn) NetConn() net.Conn { return p.raw }

// Close closes the connection underneath.
func (p *PlainConn) Close() error { return p.raw.Close() }

// Reader exposes the buffered reader, so a caller can peek at the first
// bytes (to spot a secure server) without losing them.
func (p *PlainConn) Reader() *bufio.Reader { return p.br }

// ReadMessage reads one line of at most MaxLine bytes. A trailing "\r" is
// dropped, so netcat and telnet lines read the same.
func (p *PlainConn) ReadMessage() (string, error) {
	line, n, done, err := readLine(p.br, MaxLine)
	if err != nil {
		if err == ErrMessageTooLong {
			p.long, p.longDone = n, done
		}
		return "", err
	}
	return string(line), nil
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
		frag, err := p.br.ReadSlice('\n')
		n += len(frag)
		if err == nil {
			return n, nil
		}
		if err != bufio.ErrBufferFull {
			return n, err
		}
	}
}

// ReadLine reads a line of at most max bytes from br. It stops reading as
// soon as the limit is passed, so an endless line costs nothing. The line
// may point into br's buffer: it is valid until the next read.
func ReadLine(br *bufio.Reader, max int) ([]byte, error) {
	line, _, _, err := readLine(br, max)
	return line, err
}

// readLine is ReadLine that also says, for a line refused as too long, how
// many of its bytes were read, and whether they include its end.
func readLine(br *bufio.Reader, max int) ([]byte, int, bool, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > max+2 { // room for "\r\n"
			return nil, len(line) + len(frag), err == nil, ErrMessageTooLong
		}
		if line == nil && err == nil {
			line = frag // the common case: the whole line is in the buffer
			break
		}
		line = append(line, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, 0, false, err
		}
		break
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
