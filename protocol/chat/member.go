package chat

import (
	"sync"
	"time"
	"unicode/utf8"

	"chatlab/protocol"
)

// Writer limits. A burst can queue thousands of lines (DefaultQueueLimit);
// these keep what a member holds on to afterwards small.
const (
	// maxWriteLines is the most lines sealed into one write, so the
	// connection's write buffer stays under 256 KiB of MaxLine lines and
	// a write still carries many messages.
	maxWriteLines = 64
	// maxSpare is the largest queue array kept for reuse (4 KiB); a
	// bigger one, left by a burst, goes back to the garbage collector.
	maxSpare = 256
)

// member is one connected, named participant. Its reader is the goroutine
// that runs Server.handle; its writer runs writeLoop.
type member struct {
	conn protocol.MessageConn

	mu      sync.Mutex
	queue   []string // lines waiting for the writer
	spare   []string // the writer's last batch, reused to avoid allocation
	closing bool     // no more lines; the writer flushes and closes the conn
	wake    chan struct{}
	limit   int // most lines queued
	bytes   int // most bytes of text queued
	queued  int // bytes of text in queue now
	timeout time.Duration
	dropped bool // the queue overflowed
}

func newMember(conn protocol.MessageConn, limit, bytes int, writeTimeout time.Duration) *member {
	return &member{conn: conn, wake: make(chan struct{}, 1), limit: limit, bytes: bytes, timeout: writeTimeout}
}

// send queues lines for the writer. It never blocks: it reports false when
// the queue is over its limit, and the caller drops the member.
func (m *member) send(lines ...string) bool {
	for i, l := range lines {
		if len(l) > protocol.MaxLine {
			// Every caller keeps lines short; this is the backstop that
			// keeps one oversized line from failing the whole connection.
			lines[i] = fitLine(l)
		}
	}
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		return true
	}
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	if len(m.queue)+len(lines) > m.limit || m.queued+size > m.bytes {
		m.dropped = true
		m.mu.Unlock()
		return false
	}
	m.queue = append(m.queue, lines...)
	m.queued += size
	m.mu.Unlock()
	m.poke()
	return true
}

func (m *member) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// finish queues last lines (if any), then lets the writer flush and close
// the connection. It is safe to call more than once.
func (m *member) finish(last ...string) {
	m.mu.Lock()
	if !m.closing {
		m.queue = append(m.queue, last...)
		m.closing = true
	}
	m.mu.Unlock()
	m.poke()
}

// isDropped reports whether the member's queue overflowed.
func (m *member) isDropped() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dropped
}

// abort closes the connection at once, discarding what is queued. It
// unblocks a writer stuck on a member that does not read.
func (m *member) abort() {
	m.mu.Lock()
	m.queue = nil
	m.queued = 0
	m.closing = true
	m.mu.Unlock()
	m.conn.Close()
	m.poke()
}

// writeLoop sends queued lines in batches, one write per batch, until the
// member is finished or a write fails.
func (m *member) writeLoop() {
	defer m.conn.Close()
	for range m.wake {
		m.mu.Lock()
		batch := m.queue
		if len(batch) > 0 {
			// Swap buffers: senders fill the spare while this batch is
			// written. Nothing else may hold batch's array meanwhile.
			m.queue, m.spare = m.spare[:0], nil
			m.queued = 0
		}
		closing := m.closing
		m.mu.Unlock()
		for rest := batch; len(rest) > 0; {
			n := min(len(rest), maxWriteLines)
			m.conn.NetConn().SetWriteDeadline(time.Now().Add(m.timeout))
			if err := m.conn.WriteMessages(rest[:n]...); err != nil {
				m.abort()
				return
			}
			rest = rest[n:]
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

// fitLine cuts l to MaxLine bytes at a character boundary.
func fitLine(l string) string {
	const mark = "..."
	cut := protocol.MaxLine - len(mark)
	for cut > 0 && !utf8.RuneStart(l[cut]) {
		cut--
	}
	return l[:cut] + mark
}
