package attack

import (
	"fmt"
	"net"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// ModeMismatchError says the server's first bytes are not what the
// relay's mode expects: a plain server behind a secure relay, or the
// other way round. Nothing can cross such a relay, so it closes the
// client's connection at once.
type ModeMismatchError struct {
	Server string    // the upstream address
	Mode   chat.Mode // the mode the server runs in, as far as its bytes show
	// First are the server's first bytes, when they are neither mode's;
	// Mode is then meaningless.
	First []byte
}

// Error names the server's mode and the relay flag that matches it.
func (e *ModeMismatchError) Error() string {
	if e.First != nil {
		return fmt.Sprintf("the server at %s is not a chatlab server: it began with % x", e.Server, e.First)
	}
	return fmt.Sprintf("the server at %s runs in %s mode; run chat relay --%s", e.Server, e.Mode, e.Mode)
}

// mismatchShown is how many of a stranger's first bytes the error shows.
const mismatchShown = 8

// checkServer looks at the server's first bytes: a secure server opens
// with its hello record, a plain one with a line of text.
func (r *Relay) checkServer(first []byte) error {
	hello := isHello(first)
	switch {
	case r.cfg.Mode == chat.Secure && !hello && protocol.LooksLikeText(first):
		return &ModeMismatchError{Server: r.cfg.Upstream, Mode: chat.Plain}
	case r.cfg.Mode == chat.Secure && !hello:
		return &ModeMismatchError{Server: r.cfg.Upstream, First: first[:min(len(first), mismatchShown)]}
	case r.cfg.Mode == chat.Plain && hello:
		return &ModeMismatchError{Server: r.cfg.Upstream, Mode: chat.Secure}
	}
	return nil
}

// isHello reports bytes that begin a chatlab hello record, as far as
// they go.
func isHello(b []byte) bool {
	if len(b) == 0 || protocol.RecordType(b[0]) != protocol.TypeHello {
		return false
	}
	magic := b[min(len(b), protocol.RecordHeaderLen):]
	magic = magic[:min(len(magic), len(protocol.Magic))]
	return string(magic) == protocol.Magic[:len(magic)]
}

// checkedConn runs the relay's check on the first bytes read from the
// server, for the man in the middle, whose handshake reads them.
type checkedConn struct {
	net.Conn
	r       *Relay
	checked bool
}

func (c *checkedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && !c.checked {
		c.checked = true
		if merr := c.r.checkServer(b[:n]); merr != nil {
			return 0, merr
		}
	}
	return n, err
}
