package bench

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"slices"
	"syscall"
	"time"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// timeJoins joins n times, one after another, and returns the median time
// from connect to the server's greeting. Each client leaves at once.
func timeJoins(ctx context.Context, mode chat.Mode, addr string, n int, p *progress) (time.Duration, error) {
	times := make([]time.Duration, n)
	for i := range times {
		start := time.Now()
		c, err := join(ctx, mode, addr, "hs")
		if err != nil {
			return 0, err
		}
		times[i] = time.Since(start)
		c.Close()
		p.add(1)
	}
	slices.Sort(times)
	return times[n/2], nil
}

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
