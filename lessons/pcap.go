package lessons

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapSnaplen is the capture length written in the file header; the
// synthetic packets are far shorter.
const pcapSnaplen = 65536

// writePcap writes what the relay tap saw as a pcap file of TCP packets,
// handshake, data and FINs included, as a capture on loopback would have
// recorded them. Tools that read pcap (sniff -r, Wireshark) cannot tell
// the difference.
func writePcap(w io.Writer, rec *recording) error {
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(pcapSnaplen, layers.LinkTypeEthernet); err != nil {
		return fmt.Errorf("lessons: write pcap: %w", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	ts := time.Now()
	for _, c := range rec.conns {
		seq := [2]uint32{1000, 500000} // initial sequence numbers per direction
		pkt := func(fromClient bool, flags func(*layers.TCP), payload []byte) error {
			src, dst := c.client, c.server
			d, o := 0, 1
			if !fromClient {
				src, dst, d, o = dst, src, 1, 0
			}
			ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP,
				SrcIP: net.IP(src.Addr().AsSlice()), DstIP: net.IP(dst.Addr().AsSlice())}
			tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
				Seq: seq[d], Ack: seq[o], Window: 65535, ACK: true}
			flags(tcp)
			tcp.SetNetworkLayerForChecksum(ip)
			eth := &layers.Ethernet{SrcMAC: make(net.HardwareAddr, 6), DstMAC: make(net.HardwareAddr, 6), EthernetType: layers.EthernetTypeIPv4}
			buf := gopacket.NewSerializeBuffer()
			opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
			if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
				return fmt.Errorf("lessons: build packet: %w", err)
			}
			seq[d] += uint32(len(payload))
			if tcp.SYN || tcp.FIN {
				seq[d]++
			}
			ts = ts.Add(time.Millisecond)
			data := buf.Bytes()
			return pw.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}, data)
		}
		steps := []func() error{
			func() error { return pkt(true, func(t *layers.TCP) { t.SYN, t.ACK, t.Ack = true, false, 0 }, nil) },
			func() error { return pkt(false, func(t *layers.TCP) { t.SYN = true }, nil) },
			func() error { return pkt(true, func(*layers.TCP) {}, nil) },
		}
		for _, ch := range c.chunks {
			ch := ch
			steps = append(steps, func() error { return pkt(ch.fromClient, func(t *layers.TCP) { t.PSH = true }, ch.b) })
		}
		steps = append(steps,
			func() error { return pkt(true, func(t *layers.TCP) { t.FIN = true }, nil) },
			func() error { return pkt(false, func(t *layers.TCP) { t.FIN = true }, nil) },
		)
		for _, s := range steps {
			if err := s(); err != nil {
				return err
			}
		}
	}
	return nil
}
