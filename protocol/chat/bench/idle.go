package bench

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net"
	"runtime"
	"syscall"
	"time"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// timeJoins joins n times with dial, one after another, and returns the
// median time from connect to the server's greeting. Each client leaves
// at once. The same loop times chatlab's joins and the reference hub's.
//
// With a key, it also times n bare RSA-2048 OAEP decryptions with that key
// and returns their median too. A shared machine's speed drifts over a
// run (a decryption can take 1.3 ms for a while, then 1.9 ms), so the
// joins and the decryptions they are compared with take turns, a few of
// each, rather than one batch after the other. The turns are not one of
// each: a join straight after 2 ms of decryption finds the other core
// asleep, and pays about 0.1 ms to wake it that back-to-back joins do not.
func timeJoins(n int, key *rsa.PrivateKey, p *progress, dial func() (client, error)) (joinP50, decryptP50 time.Duration, err error) {
	var wrapped []byte
	if key != nil {
		if wrapped, err = wrapForTiming(key); err != nil {
			return 0, 0, err
		}
	}
	joins := make([]time.Duration, n)
	var decrypts []time.Duration
	for i := range joins {
		for j := 0; key != nil && i%timingTurn == 0 && j < min(timingTurn, n-i); j++ {
			d, err := timeDecrypt(key, wrapped)
			if err != nil {
				return 0, 0, err
			}
			decrypts = append(decrypts, d)
		}
		start := time.Now()
		c, err := dial()
		if err != nil {
			return 0, 0, err
		}
		joins[i] = time.Since(start)
		c.Close()
		p.add(1)
	}
	if key != nil {
		decryptP50 = median(decrypts)
	}
	return median(joins), decryptP50, nil
}

// timingTurn is how many decryptions, then joins, timeJoins times in a
// turn: about 20 ms of each.
const timingTurn = 10

// idleCost joins n idle clients and returns the growth of the heap and
// the goroutine stacks in use, after a GC, divided by n. The clients keep
// nothing on this side but a file descriptor, so the growth is the
// server's: its two goroutines, buffers, ciphers and queue per member.
func idleCost(ctx context.Context, mode chat.Mode, srv *chat.Server, addr string, n int, p *progress) (float64, error) {
	before := inUse()
	fds := make([]int, 0, n)
	defer func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}()
	for i := range n {
		fd, err := idleJoin(ctx, mode, addr, fmt.Sprintf("idle%d", i))
		if err != nil {
			return 0, fmt.Errorf("bench: idle client %d of %d: %w", i+1, n, err)
		}
		fds = append(fds, fd)
		p.add(1)
	}
	if err := waitMembers(ctx, srv, n); err != nil {
		return 0, err
	}
	after := inUse()
	for _, fd := range fds {
		syscall.Close(fd)
	}
	fds = nil
	if err := waitMembers(ctx, srv, 0); err != nil {
		return 0, err
	}
	return (float64(after) - float64(before)) / float64(n), nil
}

// inUse is the heap and the goroutine stacks in use after a full GC.
func inUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// idleJoin connects, runs the handshake, sends the name, and keeps only a
// duplicate of the socket's descriptor: no goroutine, buffer or cipher
// stays behind on the client side.
func idleJoin(ctx context.Context, mode chat.Mode, addr, name string) (int, error) {
	d := net.Dialer{Timeout: waitTimeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return -1, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(waitTimeout))
	var conn protocol.MessageConn
	if mode == chat.Secure {
		if conn, _, err = protocol.Client(nc, protocol.ClientConfig{}); err != nil {
			return -1, err
		}
	} else {
		pc := protocol.NewPlainConn(nc)
		if _, err := pc.ReadMessage(); err != nil {
			return -1, fmt.Errorf("no banner: %w", err)
		}
		conn = pc
	}
	if err := conn.WriteMessages(name); err != nil {
		return -1, err
	}
	raw, err := nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var dupErr error
	if err := raw.Control(func(s uintptr) { fd, dupErr = syscall.Dup(int(s)) }); err != nil {
		return -1, err
	}
	if dupErr != nil {
		return -1, fmt.Errorf("dup: %w", dupErr)
	}
	return fd, nil
}
