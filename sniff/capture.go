package sniff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
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

// OpenLive starts a capture on iface with gopacket's pure-Go AF_PACKET
// handle; no libpcap. The kernel runs f as a BPF program and, on a
// loopback interface, also drops each packet's outgoing copy, so every
// packet is seen once. The capture stops when ctx is done: the source then
// reports io.EOF.
func OpenLive(ctx context.Context, iface string, f *filter.Filter) (gopacket.PacketDataSource, layers.LinkType, error) {
	if err := CanCapture(iface); err != nil {
		return nil, 0, err
	}
	ifi, _ := net.InterfaceByName(iface)
	if f == nil {
		f = &filter.Filter{}
	}
	prog, err := f.Program(ifi.Flags&net.FlagLoopback != 0)
	if err != nil {
		return nil, 0, err
	}
	h, err := pcapgo.NewEthernetHandle(iface)
	if err != nil {
		return nil, 0, fmt.Errorf("sniff: %w", err)
	}
	if err := h.SetCaptureLength(filter.Snaplen); err != nil {
		h.Close()
		return nil, 0, fmt.Errorf("sniff: %w", err)
	}
	if err := h.SetBPF(prog); err != nil {
		h.Close()
		return nil, 0, fmt.Errorf("sniff: attach filter: %w", err)
	}
	src := &liveSource{ctx: ctx, packets: make(chan livePacket, liveQueue)}
	go src.read(h)
	return src, layers.LinkTypeEthernet, nil
}

// liveSource reads the handle in its own goroutine, so a blocked read
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

// read owns the handle. A read blocks in the kernel until a packet comes,
// so after ctx ends the goroutine lives until the next packet (or until
// the process exits) and then closes the handle.
func (s *liveSource) read(h *pcapgo.EthernetHandle) {
	defer h.Close()
	for {
		data, ci, err := h.ReadPacketData()
		select {
		case s.packets <- livePacket{data, ci, err}:
		case <-s.ctx.Done():
			return
		}
		if err != nil || s.ctx.Err() != nil {
			return
		}
	}
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
