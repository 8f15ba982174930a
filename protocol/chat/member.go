package chat

import (
	"errors"
	"net"
	"sync"
	"time"
	"unicode/utf8"

	"chatlab/protocol"
)

// Writer limits. A burst can queue many lines; these keep what a member
// holds on to afterwards small.
const (
	// maxWriteBytes is the most bytes of lines sealed into one write: a
	// write still carries many messages (sixteen of 1 KiB), and the
	// buffer it needs stays small enough to share out of a pool.
	maxWriteBytes = 32 << 10
	// lineOverhead bounds what framing adds to a line on the wire: a
	// newline, or a record header, nonce and tag.
	lineOverhead = protocol.RecordHeaderLen + protocol.MaxRecordBody - protocol.MaxLine
	// maxSpare is the largest queue array kept for reuse (4 KiB); a
	// bigger one, left by a burst, goes back to the garbage collector.
	maxSpare = 256
	// maxPooledBuffer is the largest write buffer given back to the
	// server's pool: maxWriteBytes and the records' overhead.
	maxPooledBuffer = 2 * maxWriteBytes
	// dropGrace is how long a member dropped for its slowness has to take
	// the rest of its last write and the notice that says why.
	dropGrace = 2 * time.Second
)

// appender is the protocol connection's encoder: it appends lines in wire
// form, so the writer owns the buffer (see protocol.Conn.AppendMessages).
type appender interface {
	AppendMessages(dst []byte, msgs ...string) ([]byte, error)
}

// writePools are the server's write buffers, lent to a member's writer
// for one batch, so a member between bursts holds none.
type writePools struct {
	bufs sync.Pool // *[]byte: sealed records
	iovs sync.Pool // *writev: a plain writer's writev slices
}

func newWritePools() *writePools {
	p := new(writePools)
	p.bufs.New = func() any {
		b := make([]byte, 0, maxWriteBytes+maxWriteBytes/8)
		return &b
	}
	p.iovs.New = func() any { return newWritev() }
	return p
}

// member is one connected, named participant. Its reader is the goroutine
// that runs Server.serve; its writer runs writeLoop.
type member struct {
	conn  protocol.MessageConn
	raw   net.Conn // the connection as accepted, which the writer writes to
	enc   appender
	plain socketWriter // ok when the lines go out with writev (plain, on TCP)
	pools *writePools

	mu      sync.Mutex
	drained sync.Cond // signalled when the queue falls below the wait mark, or the member ends
	queue   []string  // lines waiting for the writer
	spare   []string  // the writer's last batch, reused to avoid allocation
	closing bool      // no more lines; the writer flushes and closes the conn
	dropped bool      // too slow: its queue overflowed or a write timed out
	wake    chan struct{}
	lim     queueLimits
	queued  int // bytes of text in queue now
	timeout time.Duration
	// deadline is the write deadline set last (writer only).
	deadline time.Time
}

// queueLimits bound one member's queue. Past the wait mark, a sender
// waits for the member's writer before its next line (see Server.readLoop);
// past the drop limits, which only many senders at once can reach, the
// member is dropped.
type queueLimits struct {
	waitLines, waitBytes int
	dropLines, dropBytes int
}

// newMember makes the member for conn, which runs on raw, the connection
// as accepted.
func newMember(conn protocol.MessageConn, raw net.Conn, pools *writePools, lim queueLimits, writeTimeout time.Duration) *member {
	m := &member{conn: conn, raw: raw, enc: conn.(appender), pools: pools, wake: make(chan struct{}, 1), lim: lim, timeout: writeTimeout}
	if _, plain := conn.(*protocol.PlainConn); plain {
		m.plain = newSocketWriter(raw)
	}
	m.drained.L = &m.mu
	return m
}

// send queues lines for the writer. It never blocks. It reports whether
// the member is now past its wait mark, so the sender should wait (see
// waitDrained) before it sends more. A member past its drop limits is
// dropped instead: it hears why, and its reader ends.
func (m *member) send(lines ...string) (lagging bool) {
	for i, l := range lines {
		if len(l) > protocol.MaxLine {
			// Every caller keeps lines short; this is the backstop that
			// keeps one oversized line from failing the whole connection.
			lines[i] = fitLine(l)
		}
	}
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	m.mu.Lock()
	if m.closing || m.dropped {
		m.mu.Unlock()
		return false
	}
	if len(m.queue)+len(lines) > m.lim.dropLines || m.queued+size > m.lim.dropBytes {
		m.dropLocked()
		m.mu.Unlock()
		return false
	}
	idle := len(m.queue) == 0
	m.queue = append(m.queue, lines...)
	m.queued += size
	lagging = m.laggingLocked()
	m.mu.Unlock()
	if idle {
		m.poke()
	}
	return lagging
}

// headroom is how many of lines, at least one, the member can take before
// it reaches its wait mark: its queue may end one line past the mark, as
// it may when lines come one at a time.
func (m *member) headroom(lines []string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, queued := 0, m.queued
	for n < len(lines) && len(m.queue)+n < m.lim.waitLines && queued < m.lim.waitBytes {
		queued += len(lines[n])
		n++
	}
	return max(n, 1)
}

func (m *member) laggingLocked() bool {
	return !m.closing && !m.dropped && (len(m.queue) >= m.lim.waitLines || m.queued >= m.lim.waitBytes)
}

// waitDrained blocks until the member is below its wait mark, or ends.
// The writer takes the whole queue at each write, so this waits for at
// most one write, which WriteTimeout bounds.
func (m *member) waitDrained() {
	m.mu.Lock()
	for m.laggingLocked() {
		m.drained.Wait()
	}
	m.mu.Unlock()
}

func (m *member) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// dropLocked marks the member too slow: what is queued is discarded, and
// its reader is woken, so it leaves the room and queues the notice that
// tells the member why (Server.serve).
func (m *member) dropLocked() {
	if m.dropped {
		return
	}
	m.dropped = true
	m.queue, m.queued = nil, 0
	m.drained.Broadcast()
	m.conn.NetConn().SetReadDeadline(time.Now())
}

// finish queues last lines (if any), then lets the writer flush and close
// the connection. It is safe to call more than once.
func (m *member) finish(last ...string) {
	m.mu.Lock()
	if !m.closing {
		m.queue = append(m.queue, last...)
		m.closing = true
		m.drained.Broadcast()
	}
	m.mu.Unlock()
	m.poke()
}

// isDropped reports whether the member was dropped for its slowness.
func (m *member) isDropped() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dropped
}

// end marks the member finished with nothing more to send, for a writer
// that cannot write any more.
func (m *member) end() {
	m.mu.Lock()
	m.queue, m.queued = nil, 0
	m.closing = true
	m.drained.Broadcast()
	m.mu.Unlock()
}

// writeLoop sends what is queued, a batch at each wake-up (see
// writeBatch), until the member is finished or a write fails. A write that
// times out drops the member for its slowness; the rest of the line or
// record it stopped in then goes out first when the notice follows, so
// the member sees whole lines, then why.
func (m *member) writeLoop() {
	defer m.conn.Close()
	var rest []byte // unwritten tail of a write that timed out
	for range m.wake {
		m.mu.Lock()
		batch := m.queue
		if len(batch) > 0 {
			// Swap buffers: senders fill the spare while this batch is
			// written. Nothing else may hold batch's array meanwhile.
			m.queue, m.spare = m.spare[:0], nil
			m.queued = 0
			m.drained.Broadcast()
		}
		closing, dropped := m.closing, m.dropped
		m.mu.Unlock()
		// Moving the deadline costs a timer update, so it moves only
		// when it is a tenth of the timeout stale: a write always has
		// between nine tenths of WriteTimeout and all of it.
		now := time.Now()
		if dropped {
			m.conn.NetConn().SetWriteDeadline(now.Add(dropGrace))
		} else if deadline := now.Add(m.timeout); deadline.Sub(m.deadline) > m.timeout/10 {
			m.conn.NetConn().SetWriteDeadline(deadline)
			m.deadline = deadline
		}
		var err error
		if len(rest) > 0 && (dropped || closing) {
			rest, err = writeRest(m.raw, rest)
		}
		if err == nil && rest == nil {
			rest, err = m.writeBatch(batch)
		}
		if err != nil {
			if !dropped && isTimeout(err) {
				// Too slow: drop it and let the reader queue the notice.
				m.mu.Lock()
				m.dropLocked()
				m.mu.Unlock()
				if closing {
					// Its reader has gone and nothing more will be
					// queued: go round once more, to send the rest
					// under the grace deadline, then close.
					m.poke()
				}
				continue
			}
			m.end()
			return
		}
		if len(batch) > 0 && cap(batch) <= maxSpare {
			clear(batch)
			m.mu.Lock()
			m.spare = batch[:0]
			m.mu.Unlock()
		}
		if closing {
			return
		}
	}
}

// writeBatch writes lines: plain ones on TCP with writev, straight from
// the queue (see socketWriter), records in writes of at most
// maxWriteBytes, from a buffer borrowed from the server's pool, so an idle
// member holds none. After a timeout it returns the unwritten rest of the
// line it stopped in, or of the write, in a buffer of its own.
func (m *member) writeBatch(lines []string) ([]byte, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	if m.plain.ok() {
		w := m.pools.iovs.Get().(*writev)
		defer m.pools.iovs.Put(w)
		return m.plain.write(w, lines)
	}
	bp := m.pools.bufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledBuffer {
			m.pools.bufs.Put(bp)
		}
	}()
	for len(lines) > 0 {
		// Count each line as it goes on the wire, framing included, so
		// many short lines cannot grow the buffer either.
		n, size := 0, 0
		for n < len(lines) && (n == 0 || size+len(lines[n])+lineOverhead <= maxWriteBytes) {
			size += len(lines[n]) + lineOverhead
			n++
		}
		buf, err := m.enc.AppendMessages((*bp)[:0], lines[:n]...)
		*bp = buf
		if err != nil {
			return nil, err
		}
		w, err := m.raw.Write(buf)
		if err != nil {
			if w < len(buf) && isTimeout(err) {
				return append([]byte(nil), buf[w:]...), err
			}
			return nil, err
		}
		lines = lines[n:]
	}
	return nil, nil
}

// writeRest finishes a write that timed out.
func writeRest(c net.Conn, rest []byte) ([]byte, error) {
	n, err := c.Write(rest)
	if err != nil {
		return rest[n:], err
	}
	return nil, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// fitLine cuts l to MaxLine bytes at a character boundary.
func fitLine(l string) string {
	const mark = "..."
	cut := protocol.MaxLine - len(mark)
	for cut > 0 && !utf8.RuneStart(l[cut]) {
		cut--
	}
	return l[:cut] + mark
}
