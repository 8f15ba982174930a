//go:build !linux

package chat

import (
	"errors"
	"net"
)

// Elsewhere than on Linux, plain members write from a buffer, as secure
// ones do, and the accept loop leaves the first bytes to the join.

type socketWriter struct{}

type writev struct{}

func newWritev() *writev { return new(writev) }

func newSocketWriter(net.Conn) socketWriter { return socketWriter{} }

func (socketWriter) ok() bool { return false }

func (socketWriter) writeNow([]byte) (int, error) { return 0, nil }

func (socketWriter) write(*writev, []string) ([]byte, error) {
	return nil, errors.New("chat: writev is only used on Linux")
}
