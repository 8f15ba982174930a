package sniff

import (
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// decoder turns a captured frame into a TCP segment with gopacket's
// DecodingLayerParser over layers allocated once: the fast path decodes a
// packet without allocating.
type decoder struct {
	eth     layers.Ethernet
	lo      layers.Loopback
	sll     layers.LinuxSLL
	ip4     layers.IPv4
	ip6     layers.IPv6
	tcp     layers.TCP
	payload gopacket.Payload
	parser  *gopacket.DecodingLayerParser
	raw4    *gopacket.DecodingLayerParser // raw IP captures start at either
	raw6    *gopacket.DecodingLayerParser
	layers  []gopacket.LayerType

	src, dst netip.AddrPort // of the last segment decoded
}

// newDecoder returns a decoder for link, or nil if sniff cannot read that
// link type.
func newDecoder(link layers.LinkType) *decoder {
	d := &decoder{layers: make([]gopacket.LayerType, 0, 8)}
	all := []gopacket.DecodingLayer{&d.eth, &d.lo, &d.sll, &d.ip4, &d.ip6, &d.tcp, &d.payload}
	mk := func(first gopacket.LayerType) *gopacket.DecodingLayerParser {
		p := gopacket.NewDecodingLayerParser(first, all...)
		p.IgnoreUnsupported = true
		return p
	}
	switch link {
	case layers.LinkTypeEthernet:
		d.parser = mk(layers.LayerTypeEthernet)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		d.parser = mk(layers.LayerTypeLoopback)
	case layers.LinkTypeLinuxSLL:
		d.parser = mk(layers.LayerTypeLinuxSLL)
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12:
		d.raw4, d.raw6 = mk(layers.LayerTypeIPv4), mk(layers.LayerTypeIPv6)
	default:
		return nil
	}
	return d
}

// decode parses data and reports whether it holds a TCP segment; if so,
// d.tcp, d.src and d.dst describe it. Malformed or truncated frames are
// reported as not TCP, never as a panic.
func (d *decoder) decode(data []byte) bool {
	p := d.parser
	if p == nil {
		if len(data) == 0 {
			return false
		}
		p = d.raw4
		if data[0]>>4 == 6 {
			p = d.raw6
		}
	}
	err := p.DecodeLayers(data, &d.layers)
	if err != nil && len(d.layers) == 0 {
		return false
	}
	var srcIP, dstIP netip.Addr
	tcp := false
	for _, lt := range d.layers {
		switch lt {
		case layers.LayerTypeIPv4:
			srcIP, _ = netip.AddrFromSlice(d.ip4.SrcIP)
			dstIP, _ = netip.AddrFromSlice(d.ip4.DstIP)
		case layers.LayerTypeIPv6:
			srcIP, _ = netip.AddrFromSlice(d.ip6.SrcIP)
			dstIP, _ = netip.AddrFromSlice(d.ip6.DstIP)
		case layers.LayerTypeTCP:
			tcp = true
		}
	}
	if !tcp || !srcIP.IsValid() || !dstIP.IsValid() {
		return false
	}
	d.src = netip.AddrPortFrom(srcIP.Unmap(), uint16(d.tcp.SrcPort))
	d.dst = netip.AddrPortFrom(dstIP.Unmap(), uint16(d.tcp.DstPort))
	return true
}
