package sniff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"chatlab/sniff/event"
	"chatlab/sniff/filter"
)

// ErrPermission means live capture needs root or CAP_NET_RAW.
var ErrPermission = errors.New("sniff: capturing packets needs root or the CAP_NET_RAW capability")

// livePoll is how long a read waits for the kernel before it looks at
// ctx again, so a capture with no traffic still ends soon after ctx.
const livePoll = 100 * time.Millisecond

// Interface hardware types (ARPHRD_*, include/uapi/linux/if_arp.h) whose
// frames reach a packet socket with an Ethernet header.
const (
	arphrdEther    = 1
	arphrdLoopback = 772
)

// CanCapture checks that a live capture on iface could start: the
// interface exists and this process may open an AF_PACKET socket. A
// missing permission is reported as ErrPermission.
func CanCapture(iface string) error {
	if _, err := net.InterfaceByName(iface); err != nil {
		return fmt.Errorf("sniff: no interface %q: %w", iface, err)
	}
	fd, err := packetSocket()
	if err != nil {
		return err
	}
	unix.Close(fd)
	return nil
}

// packetSocket opens an AF_PACKET socket for no protocol: it receives
// nothing until it is bound.
func packetSocket() (int, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return -1, fmt.Errorf("%w (%v)", ErrPermission, err)
		}
		return -1, fmt.Errorf("sniff: open packet socket: %w", err)
	}
	return fd, nil
}

// LiveOptions tune a live capture. The zero value is tcpdump's default
// behaviour with a larger buffer.
type LiveOptions struct {
	// BufferSize is the receive ring's size in bytes, as tcpdump's -B
	// gives it in KiB; zero means DefaultBufferSize, and less than
	// MinBufferSize is raised to it.
	BufferSize int
	// Snaplen is how many bytes of each packet are kept (tcpdump's -s);
	// zero means filter.Snaplen.
	Snaplen int
}

// CaptureStats are a live capture's counts, as tcpdump reports them.
type CaptureStats struct {
	// Captured is how many packets the source has handed out.
	Captured uint64
	// Received is how many packets the kernel's filter accepted, those
	// it then dropped included (PACKET_STATISTICS tp_packets).
	Received uint64
	// Dropped is how many accepted packets the kernel dropped because
	// the ring was full (tp_drops).
	Dropped uint64
}

// LiveSource is a live capture on one interface, read from a TPACKET_V3
// ring. It is a gopacket.PacketDataSource and a ZeroCopyPacketDataSource
// for one reading goroutine; Stats and the describing methods may be
// called from any goroutine.
type LiveSource struct {
	ctx     context.Context
	iface   string
	link    layers.LinkType
	snaplen int

	ring     *ring         // nil once closed
	captured atomic.Uint64 // read by Stats from any goroutine

	mu     sync.Mutex // guards fd and kernel, for Stats from other goroutines
	fd     int        // -1 once closed
	kernel CaptureStats

	// drainUntil is set when ctx ends: until then the packets the kernel
	// had already taken are still read.
	drainUntil time.Time
}

// drainTime is how long a stopped capture goes on reading the ring: the
// kernel hands over a block that is not full once ringBlockTimeout has
// passed, so twice that brings in every packet it had accepted before the
// stop.
const drainTime = 2 * ringBlockTimeout * time.Millisecond

// Drains says that, once its context is done, a LiveSource still returns
// the packets already captured, then io.EOF: a stopped capture's -w file
// keeps every packet the kernel delivered.
func (s *LiveSource) Drains() {}

// OpenLive starts a capture on iface with the default LiveOptions.
func OpenLive(ctx context.Context, iface string, f *filter.Filter) (*LiveSource, layers.LinkType, error) {
	src, err := OpenLiveWith(ctx, iface, f, LiveOptions{})
	if err != nil {
		return nil, 0, err
	}
	return src, src.link, nil
}

// OpenLiveWith starts a capture on iface with an AF_PACKET socket and a
// memory-mapped TPACKET_V3 ring, in pure Go; no libpcap. The kernel runs
// f as a BPF program and, on a loopback interface, also drops each
// packet's outgoing copy, so every packet is seen once. The capture stops
// when ctx is done: reads then report io.EOF, and the socket is closed by
// the read that notices, within livePoll (or by Close).
//
// The socket is opened for no protocol, given its filter and its ring and
// only then bound to iface for every protocol, as libpcap does: packets
// of the moment before the filter would otherwise fill the ring and push
// out the first packets that matter, the SYN among them.
func OpenLiveWith(ctx context.Context, iface string, f *filter.Filter, opt LiveOptions) (*LiveSource, error) {
	if err := CanCapture(iface); err != nil {
		return nil, err
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("sniff: no interface %q: %w", iface, err)
	}
	link, err := interfaceLinkType(iface)
	if err != nil {
		return nil, err
	}
	prog, err := kernelProgram(f, ifi)
	if err != nil {
		return nil, err
	}
	size := opt.BufferSize
	if size == 0 {
		size = DefaultBufferSize
	}
	snaplen := opt.Snaplen
	if snaplen <= 0 || snaplen > filter.Snaplen {
		snaplen = filter.Snaplen
	}
	fd, rg, err := openRing(ifi.Index, prog, size)
	if err != nil {
		return nil, err
	}
	return &LiveSource{ctx: ctx, iface: iface, link: link, snaplen: snaplen, ring: rg, fd: fd}, nil
}

// kernelProgram is the one place that compiles a filter for the kernel.
func kernelProgram(f *filter.Filter, ifi *net.Interface) ([]bpf.RawInstruction, error) {
	if f == nil {
		f = &filter.Filter{}
	}
	return f.Program(ifi.Flags&net.FlagLoopback != 0)
}

// interfaceLinkType is the link type of iface's frames on a packet
// socket. The filter's programs read Ethernet headers, so other kinds of
// interface are refused by name rather than misread.
func interfaceLinkType(iface string) (layers.LinkType, error) {
	b, err := os.ReadFile("/sys/class/net/" + iface + "/type")
	if err != nil {
		return 0, fmt.Errorf("sniff: hardware type of %s: %w", iface, err)
	}
	hw, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("sniff: hardware type of %s: %w", iface, err)
	}
	switch hw {
	case arphrdEther, arphrdLoopback:
		return layers.LinkTypeEthernet, nil
	}
	return 0, fmt.Errorf("%w: %s has hardware type %d; sniff captures Ethernet and loopback interfaces", ErrLinkType, iface, hw)
}

// openRing makes a filtered AF_PACKET socket with a receive ring of about
// size bytes, bound to ifindex.
func openRing(ifindex int, prog []bpf.RawInstruction, size int) (int, *ring, error) {
	fd, err := packetSocket()
	if err != nil {
		return -1, nil, err
	}
	fail := func(err error) (int, *ring, error) {
		unix.Close(fd)
		return -1, nil, err
	}
	filters := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		filters[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filters)), Filter: &filters[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fail(fmt.Errorf("sniff: attach filter: %w", err))
	}
	rg, err := setupRing(fd, size)
	if err != nil {
		return fail(err)
	}
	all := unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}
	if err := unix.Bind(fd, &all); err != nil {
		rg.close()
		return fail(fmt.Errorf("sniff: bind: %w", err))
	}
	return fd, rg, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// ZeroCopyReadPacketData returns the next packet, or io.EOF once ctx is
// done. The data is the kernel's ring itself: it is valid only until the
// next read, which may hand its block back to the kernel.
func (s *LiveSource) ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	for {
		if s.ring == nil {
			return nil, gopacket.CaptureInfo{}, io.EOF
		}
		if s.ctx.Err() != nil && s.drainUntil.IsZero() {
			s.drainUntil = time.Now().Add(drainTime)
		}
		if data, ci, ok := s.ring.packet(); ok {
			s.captured.Add(1)
			if len(data) > s.snaplen {
				data = data[:s.snaplen]
				ci.CaptureLength = s.snaplen
			}
			return data, ci, nil
		}
		s.ring.release()
		if s.ring.take() {
			continue
		}
		if !s.drainUntil.IsZero() && time.Now().After(s.drainUntil) {
			s.Close()
			return nil, gopacket.CaptureInfo{}, io.EOF
		}
		if err := s.wait(); err != nil {
			s.Close()
			return nil, gopacket.CaptureInfo{}, err
		}
	}
}

// ReadPacketData returns a copy of the next packet, or io.EOF once ctx
// is done.
func (s *LiveSource) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	data, ci, err := s.ZeroCopyReadPacketData()
	if err != nil {
		return nil, ci, err
	}
	return append([]byte(nil), data...), ci, nil
}

// Ready reports whether a read would return without waiting for the
// kernel: the block being read has packets left, or the next one is
// filled. The dump writer flushes its file when nothing is ready. Only
// the reading goroutine may call it.
func (s *LiveSource) Ready() bool {
	return s.ring != nil && s.ring.ready()
}

// wait blocks until the kernel hands over a block, at most livePoll.
func (s *LiveSource) wait() error {
	pfd := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN | unix.POLLERR}}
	_, err := unix.Poll(pfd, int(livePoll/time.Millisecond))
	if err != nil && err != unix.EINTR {
		return fmt.Errorf("sniff: wait for packets: %w", err)
	}
	return nil
}

// Close ends the capture: the ring is unmapped and the socket closed,
// after its last statistics are read. Only the reading goroutine, or a
// caller that has stopped reading, may call it.
func (s *LiveSource) Close() error {
	if s.ring == nil {
		return nil
	}
	rg := s.ring
	s.ring = nil
	err := rg.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pollStats()
	if cerr := unix.Close(s.fd); err == nil {
		err = cerr
	}
	s.fd = -1
	if err != nil {
		return fmt.Errorf("sniff: close capture: %w", err)
	}
	return nil
}

// pollStats adds what the kernel has counted since the last call (it
// resets its counters on every read). The caller holds mu.
func (s *LiveSource) pollStats() {
	if s.fd < 0 {
		return
	}
	st, err := unix.GetsockoptTpacketStatsV3(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return
	}
	s.kernel.Received += uint64(st.Packets)
	s.kernel.Dropped += uint64(st.Drops)
}

// Stats returns the capture's counts so far; after Close, the final ones.
func (s *LiveSource) Stats() CaptureStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pollStats()
	st := s.kernel
	st.Captured = s.captured.Load()
	return st
}

// Run's summary asks a LiveSource for the kernel's counts.
var _ CaptureStatser = (*LiveSource)(nil)

// CaptureStats gives Run's summary the kernel's counts (CaptureStatser).
func (s *LiveSource) CaptureStats() *event.CaptureStats {
	st := s.Stats()
	return &event.CaptureStats{Received: st.Received, Dropped: st.Dropped}
}

// Interface is the name of the captured interface.
func (s *LiveSource) Interface() string { return s.iface }

// LinkType is the link type of the captured frames.
func (s *LiveSource) LinkType() layers.LinkType { return s.link }

// Snaplen is the most bytes of a packet the capture keeps.
func (s *LiveSource) Snaplen() int { return s.snaplen }

// Listening is tcpdump's line for a capture that has started, without
// the program's name: "listening on lo, link-type EN10MB (Ethernet),
// snapshot length 262144 bytes".
func (s *LiveSource) Listening() string {
	return fmt.Sprintf("listening on %s, link-type %s, snapshot length %d bytes", s.iface, linkTypeName(s.link), s.snaplen)
}

// linkTypeName is a link type as tcpdump names it: the DLT name and its
// description.
func linkTypeName(l layers.LinkType) string {
	switch l {
	case layers.LinkTypeEthernet:
		return "EN10MB (Ethernet)"
	case layers.LinkTypeLinuxSLL:
		return "LINUX_SLL (Linux cooked v1)"
	case layers.LinkTypeLinuxSLL2:
		return "LINUX_SLL2 (Linux cooked v2)"
	case layers.LinkTypeRaw:
		return "RAW (Raw IP)"
	case layers.LinkTypeNull:
		return "NULL (BSD loopback)"
	}
	return fmt.Sprintf("%s (%d)", l, int(l))
}
