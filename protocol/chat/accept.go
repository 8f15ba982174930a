package chat

import (
	"errors"
	"net"
	"time"
)

// Backoff after a temporary accept error, such as running out of file
// descriptors: short at first, so a brief shortage costs little, doubling
// so a long one is not a busy loop, and capped so the listener notices
// within a second that it is over.
const (
	MinAcceptBackoff = 5 * time.Millisecond
	MaxAcceptBackoff = time.Second
)

// RetryAccept says whether an Accept error is worth retrying (a timeout,
// or one that says it is temporary: EMFILE, ENFILE, ECONNABORTED and the
// like) and, if so, how long to wait, given the previous wait (zero after
// a success). The chat server and the attacker relay both use it.
func RetryAccept(err error, prev time.Duration) (wait time.Duration, retry bool) {
	var ne net.Error
	var t interface{ Temporary() bool }
	if !(errors.As(err, &ne) && ne.Timeout()) && !(errors.As(err, &t) && t.Temporary()) {
		return 0, false
	}
	return min(max(2*prev, MinAcceptBackoff), MaxAcceptBackoff), true
}
