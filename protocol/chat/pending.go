package chat

import (
	"net"
	"slices"
	"sync/atomic"
	"time"
)

// joining is a connection that has not joined the room yet: in the
// handshake, or waiting for its name. It notices the first byte of the
// name, which moves the connection from the quiet deadline to the long
// one, and from the front of the line for eviction to the back.
type joining struct {
	net.Conn
	since       time.Time     // when it was accepted
	nameTimeout time.Duration // the long deadline, from since
	naming      atomic.Bool   // the server is waiting for the name
	typing      atomic.Bool   // a byte of the name has come
	evicted     atomic.Bool   // closed to make room for a newer one
	// first are the server's first bytes, its hello (fresh for each
	// connection) or its banner; firstSent is how much of them the accept
	// loop wrote (see Server.sendFirst), and firstErr why it wrote no
	// more, if it failed.
	first     []byte
	firstSent int
	firstErr  error
}

// Read notes the first byte read while the name is due.
func (j *joining) Read(p []byte) (int, error) {
	n, err := j.Conn.Read(p)
	if n > 0 && j.naming.Load() && !j.typing.Swap(true) {
		j.Conn.SetReadDeadline(j.since.Add(j.nameTimeout))
	}
	return n, err
}

// admit adds j to the connections not yet joined. When MaxPending are
// already waiting, the oldest quiet one (in the handshake, or with none
// of its name sent) is closed to make room, or the oldest of all if every
// one has begun its name. A flood of connections that never finish
// joining so costs a real client nothing: it is always the newest.
func (s *Server) admit(j *joining) (evicted *joining) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) >= s.cfg.MaxPending {
		i := slices.IndexFunc(s.pending, func(p *joining) bool { return !p.typing.Load() })
		if i < 0 {
			i = 0
		}
		evicted = s.pending[i]
		s.pending = slices.Delete(s.pending, i, i+1)
		evicted.evicted.Store(true)
		evicted.Conn.Close()
	}
	s.pending = append(s.pending, j)
	return evicted
}

// joined takes j off the connections not yet joined: it joined or went.
func (s *Server) joined(j *joining) {
	j.naming.Store(false)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.Index(s.pending, j); i >= 0 {
		s.pending = slices.Delete(s.pending, i, i+1)
	}
}
