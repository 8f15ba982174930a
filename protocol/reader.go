package protocol

import (
	"bufio"
	"bytes"
	"io"
	"sync"
)

// Read buffer sizes. A connection reads into a small buffer of its own
// while its peer sends little, and into a large one while the peer sends
// faster than it is read, so that a busy connection reads many records
// per system call and an idle one stays cheap.
const (
	// readBufferSize is the small buffer: it holds most messages whole.
	readBufferSize = 2048
	// BusyReadBufferSize is the large buffer, used only while a read
	// finds more waiting than the buffer can take.
	BusyReadBufferSize = 32 << 10
)

// ReadBuffers lends large read buffers to the connections that share it.
// A server gives one to all its connections, so only those reading a
// burst hold a large buffer, and each gives it back as soon as a read
// finds nothing more waiting. A connection given none keeps the large
// buffer it made, once it has needed one. It is safe for concurrent use.
type ReadBuffers struct{ pool sync.Pool }

// NewReadBuffers returns an empty ReadBuffers.
func NewReadBuffers() *ReadBuffers {
	return &ReadBuffers{pool: sync.Pool{New: func() any {
		b := make([]byte, BusyReadBufferSize)
		return &b
	}}}
}

// reader is a buffered reader like bufio.Reader whose buffer changes size
// with the load (see BusyReadBufferSize). Its slices stay valid until the
// next call.
type reader struct {
	rd    io.Reader
	buf   []byte // the buffer in use; the unread bytes are buf[r:w]
	r, w  int
	err   error  // from the last read, given out once the bytes before it are
	small []byte // the connection's own small buffer
	large *[]byte
	lend  *ReadBuffers // where large comes from and goes back to; nil keeps it
	// fullReads counts the last reads in a row that filled the buffer:
	// the peer had more.
	fullReads int
}

func newReader(rd io.Reader) *reader {
	small := make([]byte, readBufferSize)
	return &reader{rd: rd, buf: small, small: small}
}

func (b *reader) buffered() int { return b.w - b.r }

// unread is what the reader holds and has not handed out: a look, not a
// read.
func (b *reader) unread() []byte { return b.buf[b.r:b.w] }

// fill reads once, so that at least want bytes could be buffered. Before
// the read it moves the unread bytes to the front of the buffer it picks,
// the large one when:
//   - want or the unread bytes need it;
//   - the last read filled the buffer and left part of a message in it;
//   - the last read filled the small buffer and the one before it filled
//     its buffer too: a burst whose messages end where reads do;
//   - it was made with no lender to give it back to.
//
// Else it reads into the small one, handing the large one back. So a read
// that begins a new message after one read that filled the buffer goes
// into the small buffer: if the peer has nothing more, the connection
// waits for it with 2 KiB, and only a burst that ends exactly where a
// second full read of 2 KiB does leaves it waiting with the large one.
func (b *reader) fill(want int) {
	n := b.buffered()
	large := want > len(b.small) || n >= len(b.small) ||
		b.fullReads > 0 && n > 0 ||
		b.fullReads > 1 && len(b.buf) == len(b.small) ||
		b.large != nil && b.lend == nil
	if large {
		if b.large == nil {
			if b.lend != nil {
				b.large = b.lend.pool.Get().(*[]byte)
			} else {
				large := make([]byte, BusyReadBufferSize)
				b.large = &large
			}
		}
		b.move(*b.large)
	} else {
		b.move(b.small)
		if b.large != nil && b.lend != nil {
			b.lend.pool.Put(b.large)
			b.large = nil
		}
	}
	m, err := b.rd.Read(b.buf[b.w:])
	if m < 0 {
		m = 0
	}
	b.w += m
	if b.w == len(b.buf) {
		b.fullReads++
	} else {
		b.fullReads = 0
	}
	if err != nil {
		b.err = err
	} else if m == 0 {
		b.err = io.ErrNoProgress
	}
}

// move makes to the buffer, with the unread bytes at its front.
func (b *reader) move(to []byte) {
	if b.r == 0 && &to[0] == &b.buf[0] {
		return
	}
	b.w = copy(to, b.buf[b.r:b.w])
	b.r = 0
	b.buf = to
}

func (b *reader) takeErr() error {
	err := b.err
	b.err = nil
	return err
}

// peek returns the next n bytes without reading them; n is at most
// BusyReadBufferSize. With fewer bytes to come it returns what there is
// and the error that ended them.
func (b *reader) peek(n int) ([]byte, error) {
	for b.buffered() < n && b.err == nil {
		b.fill(n)
	}
	if b.buffered() < n {
		return b.unread(), b.takeErr()
	}
	return b.buf[b.r : b.r+n], nil
}

// discard drops n buffered bytes.
func (b *reader) discard(n int) { b.r += n }

// readSlice reads up to and including delim, as bufio.Reader's does: a
// line longer than the large buffer comes in parts, each with
// bufio.ErrBufferFull.
func (b *reader) readSlice(delim byte) ([]byte, error) {
	seen := 0
	for {
		if i := bytes.IndexByte(b.buf[b.r+seen:b.w], delim); i >= 0 {
			line := b.buf[b.r : b.r+seen+i+1]
			b.r += seen + i + 1
			return line, nil
		}
		seen = b.buffered()
		if b.err != nil || seen == BusyReadBufferSize {
			line := b.buf[b.r:b.w]
			b.r = b.w
			if b.err == nil {
				return line, bufio.ErrBufferFull
			}
			return line, b.takeErr()
		}
		b.fill(seen + 1)
	}
}
