//go:build !linux

package chat

import (
	"errors"
	"net"
)

// Elsewhere than on Linux, plain members write from a buffer, as secure
// ones do, and the accept loop leaves the first bytes to the join.

type plainWriter struct{}

type writev struct{}

func newWritev() *writev { return new(writev) }

func newPlainWriter(net.Conn) (plainWriter, bool) { return plainWriter{}, false }

func (plainWriter) write(*writev, []string) ([]byte, error) {
	return nil, errors.New("chat: writev is only used on Linux")
}

func writeNow(net.Conn, []byte) (int, error) { return 0, nil }
