package sniff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"chatlab/sniff/filter"
)

// ErrPermission means live capture needs root or CAP_NET_RAW.
var ErrPermission = errors.New("sniff: capturing packets needs root or the CAP_NET_RAW capability")

// liveQueue is how many packets the capture goroutine may read ahead of
// the printer.
const liveQueue = 256

// CanCapture checks that a live capture on iface could start: the
// interface exists and this process may open an AF_PACKET socket. A
// missing permission is reported as ErrPermission.
func CanCapture(iface string) error {
	if _, err := net.InterfaceByName(iface); err != nil {
		return fmt.Errorf("sniff: no interface %q: %w", iface, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return fmt.Errorf("%w (%v)", ErrPermission, err)
		}
		return fmt.Errorf("sniff: open packet socket: %w", err)
	}
	unix.Close(fd)
	return nil
}

// Live capture settings.
const (
	// liveRcvBuf is the capture socket's receive buffer. Loopback moves
	// hundreds of MB/s in a load test; a bigger queue rides out a moment
	// when the reading goroutine is not scheduled.
	liveRcvBuf = 8 << 20
	// livePoll is how often a blocked read looks at ctx, so the capture
	// goroutine ends soon after the capture is stopped.
	livePoll = 100 * time.Millisecond
)

// OpenLive starts a capture on iface with an AF_PACKET socket in pure Go;
// no libpcap. The kernel runs f as a BPF program and, on a loopback
// interface, also drops each packet's outgoing copy, so every packet is
// seen once. The capture stops when ctx is done: the source then reports
// io.EOF, and its goroutine and socket go within livePoll.
//
// The socket is opened for no protocol, given its filter and only then
// bound to iface for every protocol, as libpcap does. (pcapgo's handle
// binds first, and under heavy loopback traffic the unfiltered packets
// of that moment can fill the queue and push out the first packets that
// matter, the SYN among them.)
func OpenLive(ctx context.Context, iface string, f *filter.Filter) (gopacket.PacketDataSource, layers.LinkType, error) {
	if err := CanCapture(iface); err != nil {
		return nil, 0, err
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, 0, fmt.Errorf("sniff: no interface %q: %w", iface, err)
	}
	if f == nil {
		f = &filter.Filter{}
	}
	prog, err := f.Program(ifi.Flags&net.FlagLoopback != 0)
	if err != nil {
		return nil, 0, err
	}
	fd, err := openPacketSocket(ifi.Index, prog)
	if err != nil {
		return nil, 0, err
	}
	src := &liveSource{ctx: ctx, packets: make(chan livePacket, liveQueue)}
	go src.read(fd, max(ifi.MTU, 1500)+64)
	return src, layers.LinkTypeEthernet, nil
}

// openPacketSocket makes a filtered AF_PACKET socket bound to ifindex.
func openPacketSocket(ifindex int, prog []bpf.RawInstruction) (int, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return -1, fmt.Errorf("%w (%v)", ErrPermission, err)
		}
		return -1, fmt.Errorf("sniff: open packet socket: %w", err)
	}
	fail := func(what string, err error) (int, error) {
		unix.Close(fd)
		return -1, fmt.Errorf("sniff: %s: %w", what, err)
	}
	filters := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		filters[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filters)), Filter: &filters[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fail("attach filter", err)
	}
	// As root the buffer may pass the system's limit; otherwise take
	// what the limit allows.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, liveRcvBuf) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, liveRcvBuf)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fail("timestamps", err)
	}
	all := unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}
	if err := unix.Bind(fd, &all); err != nil {
		return fail("bind", err)
	}
	return fd, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// liveSource reads the socket in its own goroutine, so a blocked read
// never keeps Run from seeing ctx end.
type liveSource struct {
	ctx     context.Context
	packets chan livePacket
}

type livePacket struct {
	data []byte
	ci   gopacket.CaptureInfo
	err  error
}

// read owns the socket: it waits for a packet at most livePoll at a time,
// so it notices ctx ending, and closes the socket when it does.
func (s *liveSource) read(fd, size int) {
	defer unix.Close(fd)
	buf := make([]byte, size)
	oob := make([]byte, unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{}))))
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for s.ctx.Err() == nil {
		n, err := unix.Poll(pfd, int(livePoll/time.Millisecond))
		if err == unix.EINTR || n == 0 {
			continue
		}
		var p livePacket
		if err == nil {
			p = recvPacket(fd, buf, oob)
		} else {
			p.err = fmt.Errorf("sniff: wait for packets: %w", err)
		}
		if p.data == nil && p.err == nil {
			continue
		}
		select {
		case s.packets <- p:
		case <-s.ctx.Done():
			return
		}
		if p.err != nil {
			return
		}
	}
}

// recvPacket reads one packet with its kernel timestamp. A packet longer
// than buf is cut to it, and its true length kept, as a snap length does.
func recvPacket(fd int, buf, oob []byte) livePacket {
	n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_TRUNC)
	if err == unix.EAGAIN || err == unix.EINTR {
		return livePacket{}
	}
	if err != nil {
		return livePacket{err: fmt.Errorf("sniff: read packet: %w", err)}
	}
	ts := time.Now()
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
				t := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
				ts = time.Unix(t.Unix())
			}
		}
	}
	captured := min(n, len(buf))
	data := make([]byte, captured)
	copy(data, buf[:captured])
	return livePacket{data: data, ci: gopacket.CaptureInfo{Timestamp: ts, CaptureLength: captured, Length: n}}
}

// ReadPacketData returns the next packet, or io.EOF once ctx is done.
func (s *liveSource) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	select {
	case p := <-s.packets:
		return p.data, p.ci, p.err
	case <-s.ctx.Done():
		return nil, gopacket.CaptureInfo{}, io.EOF
	}
}
