package sniff

import (
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// decoder turns a captured frame of any link type sniff reads into a TCP
// segment with gopacket's DecodingLayerParser over layers allocated once:
// the fast path decodes a packet without allocating. One decoder serves
// a file whose packets have different link types (a pcapng of several
// interfaces).
type decoder struct {
	eth     layers.Ethernet
	lo      layers.Loopback
	sll     layers.LinuxSLL
	sll2    layers.LinuxSLL2
	ip4     layers.IPv4
	ip6     layers.IPv6
	tcp     layers.TCP
	payload gopacket.Payload
	parsers map[gopacket.LayerType]*gopacket.DecodingLayerParser
	layers  []gopacket.LayerType

	src, dst netip.AddrPort // of the last segment decoded
	// wireLen is the last segment's TCP payload length as sent, from the
	// IP header. len(tcp.Payload) is what was captured: less when the
	// snap length cut the packet.
	wireLen int
}

// firstLayer is the layer a frame of each link type sniff decodes starts
// with. Raw IP starts with IPv4 or IPv6 (LayerTypeZero: look at the
// version); ok is false for a link type sniff does not decode.
func firstLayer(link layers.LinkType) (first gopacket.LayerType, ok bool) {
	switch link {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, true
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return layers.LayerTypeLoopback, true
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, true
	case layers.LinkTypeLinuxSLL2:
		return layers.LayerTypeLinuxSLL2, true
	case layers.LinkTypeRaw, linkTypeRawLinux:
		return gopacket.LayerTypeZero, true
	case layers.LinkTypeIPv4:
		return layers.LayerTypeIPv4, true
	case layers.LinkTypeIPv6:
		return layers.LayerTypeIPv6, true
	}
	return 0, false
}

// linkTypeRawLinux is DLT_RAW's number on Linux, found in old files in
// place of LINKTYPE_RAW (101).
const linkTypeRawLinux layers.LinkType = 12

// Decodable reports whether sniff decodes frames of this link type.
func Decodable(link layers.LinkType) bool {
	_, ok := firstLayer(link)
	return ok
}

func newDecoder() *decoder {
	d := &decoder{layers: make([]gopacket.LayerType, 0, 8), parsers: map[gopacket.LayerType]*gopacket.DecodingLayerParser{}}
	all := []gopacket.DecodingLayer{&d.eth, &d.lo, &d.sll, &d.sll2, &d.ip4, &d.ip6, &d.tcp, &d.payload}
	for _, first := range []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeLoopback, layers.LayerTypeLinuxSLL,
		layers.LayerTypeLinuxSLL2, layers.LayerTypeIPv4, layers.LayerTypeIPv6} {
		p := gopacket.NewDecodingLayerParser(first, all...)
		p.IgnoreUnsupported = true
		d.parsers[first] = p
	}
	return d
}

// decode parses data, a frame of type link, and reports whether it holds
// a TCP segment; if so, d.tcp, d.src, d.dst and d.wireLen describe it.
// Malformed or truncated frames are reported as not TCP, never as a
// panic, and so are link types sniff does not decode (see Decodable).
func (d *decoder) decode(data []byte, link layers.LinkType) bool {
	first, ok := firstLayer(link)
	if !ok || len(data) == 0 {
		return false
	}
	if first == gopacket.LayerTypeZero {
		first = layers.LayerTypeIPv4
		if data[0]>>4 == 6 {
			first = layers.LayerTypeIPv6
		}
	}
	err := d.parsers[first].DecodeLayers(data, &d.layers)
	if err != nil && len(d.layers) == 0 {
		return false
	}
	var srcIP, dstIP netip.Addr
	ipPayload := -1 // bytes after the IP header, as sent
	tcp := false
	for _, lt := range d.layers {
		switch lt {
		case layers.LayerTypeIPv4:
			srcIP, _ = netip.AddrFromSlice(d.ip4.SrcIP)
			dstIP, _ = netip.AddrFromSlice(d.ip4.DstIP)
			ipPayload = int(d.ip4.Length) - int(d.ip4.IHL)*4
		case layers.LayerTypeIPv6:
			srcIP, _ = netip.AddrFromSlice(d.ip6.SrcIP)
			dstIP, _ = netip.AddrFromSlice(d.ip6.DstIP)
			ipPayload = int(d.ip6.Length) // 0 for a jumbogram: taken as captured
		case layers.LayerTypeTCP:
			tcp = true
		}
	}
	if !tcp || !srcIP.IsValid() || !dstIP.IsValid() {
		return false
	}
	d.src = netip.AddrPortFrom(srcIP.Unmap(), uint16(d.tcp.SrcPort))
	d.dst = netip.AddrPortFrom(dstIP.Unmap(), uint16(d.tcp.DstPort))
	d.wireLen = max(ipPayload-int(d.tcp.DataOffset)*4, len(d.tcp.Payload))
	return true
}
