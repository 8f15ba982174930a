package sniff

import "github.com/gopacket/gopacket/layers"

// payloadLen is the TCP payload the last decoded segment carried on the
// wire, which is more than its captured payload when the capture's snap
// length cut the packet short: the IP header's length says what was sent.
func (d *decoder) payloadLen() int {
	captured := len(d.tcp.Payload)
	hdr := int(d.tcp.DataOffset) * 4
	for _, lt := range d.layers {
		var n int
		switch lt {
		case layers.LayerTypeIPv4:
			n = int(d.ip4.Length) - int(d.ip4.IHL)*4 - hdr
		case layers.LayerTypeIPv6:
			// Extension headers would sit between, but sniff's decoder
			// takes TCP straight after the IPv6 header.
			n = int(d.ip6.Length) - hdr
		default:
			continue
		}
		if n > captured {
			return n
		}
	}
	return captured
}

// network is the captured frame from its IP header on, found without
// copying: the decoder's layers are slices of data.
func (d *decoder) network(data []byte) []byte {
	for _, lt := range d.layers {
		var ip []byte
		switch lt {
		case layers.LayerTypeIPv4:
			ip = d.ip4.Contents
		case layers.LayerTypeIPv6:
			ip = d.ip6.Contents
		default:
			continue
		}
		if off := cap(data) - cap(ip); off >= 0 && off <= len(data) {
			return data[off:]
		}
	}
	return data
}
