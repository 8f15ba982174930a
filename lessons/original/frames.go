package original

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"chatlab/protocol/legacy"
)

// ErrCapture is wrapped by every error about a capture that does not hold
// one whole conversation of the original program.
var ErrCapture = errors.New("original: capture")

// Frame is one 268-byte frame of the original program, as the wire
// carried it.
type Frame struct {
	FromClient bool      // client → server; else server → client
	Time       time.Time // when the segment with its first byte was captured
	Bytes      []byte    // the IV (all zero) and the 256-byte ciphertext
}

// stream is one direction of the conversation, reassembled.
type stream struct {
	isn    uint32
	synced bool
	data   []byte
	// at records when each stretch of data arrived: at[i] is the capture
	// time of the segment that began at offset starts[i].
	starts []int
	at     []time.Time
}

// add puts one segment's payload in place. Loopback loses nothing, so a
// gap is an error rather than something to wait out.
func (s *stream) add(seq uint32, syn bool, payload []byte, t time.Time) error {
	if syn {
		s.isn, s.synced = seq+1, true
		return nil
	}
	if !s.synced || len(payload) == 0 {
		return nil
	}
	off := int64(int32(seq - s.isn))
	switch {
	case off < 0:
		return nil
	case off > int64(len(s.data)):
		return fmt.Errorf("%w: %d bytes missing in one direction", ErrCapture, off-int64(len(s.data)))
	}
	if fresh := payload[int(int64(len(s.data))-off):]; len(fresh) > 0 {
		s.starts = append(s.starts, len(s.data))
		s.at = append(s.at, t)
		s.data = append(s.data, fresh...)
	}
	return nil
}

// timeOf returns when the byte at offset off arrived.
func (s *stream) timeOf(off int) time.Time {
	i := sort.SearchInts(s.starts, off+1) - 1
	if i < 0 {
		return time.Time{}
	}
	return s.at[i]
}

// streams reassembles the two directions of the connection to the
// original program's port in pcap. A record cut short at the end is
// ignored, so a capture still being written can be read.
func streams(pcap []byte) (c2s, s2c *stream, err error) {
	r, err := pcapgo.NewReader(bytes.NewReader(pcap))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrCapture, err)
	}
	c2s, s2c = &stream{}, &stream{}
	var eth layers.Ethernet
	var ip4 layers.IPv4
	var ip6 layers.IPv6
	var tcp layers.TCP
	var payload gopacket.Payload
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp, &payload)
	parser.IgnoreUnsupported = true
	var decoded []gopacket.LayerType
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return c2s, s2c, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrCapture, err)
		}
		tcp = layers.TCP{}
		if parser.DecodeLayers(data, &decoded); tcp.DstPort == 0 && tcp.SrcPort == 0 {
			continue
		}
		var s *stream
		switch {
		case tcp.DstPort == legacy.Port:
			s = c2s
		case tcp.SrcPort == legacy.Port:
			s = s2c
		default:
			continue
		}
		if err := s.add(tcp.Seq, tcp.SYN, tcp.Payload, ci.Timestamp); err != nil {
			return nil, nil, err
		}
	}
}

// Frames returns the message frames of the conversation in pcap, both
// directions in the order they were sent. The server's public key and the
// client's wrapped session key, which come first, are skipped; a frame
// cut short at the end is left out.
func Frames(pcap []byte) ([]Frame, error) {
	c2s, s2c, err := streams(pcap)
	if err != nil {
		return nil, err
	}
	pem := legacy.PEMLen(s2c.data)
	if pem == 0 && len(s2c.data) > 0 {
		return nil, fmt.Errorf("%w: the server did not start with a PEM public key", ErrCapture)
	}
	var out []Frame
	for _, d := range []struct {
		s          *stream
		skip       int
		fromClient bool
	}{{c2s, legacy.WrappedKeySize, true}, {s2c, pem, false}} {
		for off := d.skip; off+legacy.FrameSize <= len(d.s.data); off += legacy.FrameSize {
			out = append(out, Frame{FromClient: d.fromClient, Time: d.s.timeOf(off), Bytes: d.s.data[off : off+legacy.FrameSize]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

// wireBytes is how many bytes each direction has carried so far.
func wireBytes(pcap []byte) (c2s, s2c int) {
	a, b, err := streams(pcap)
	if err != nil {
		return -1, -1
	}
	return len(a.data), len(b.data)
}
