package dump

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// pcapng block types and options (draft-ietf-opsawg-pcapng).
const (
	blockSectionHeader    = 0x0a0d0d0a
	blockInterface        = 0x00000001
	blockEnhancedPacket   = 0x00000006
	byteOrderMagic        = 0x1a2b3c4d
	optEnd                = 0
	optComment            = 1
	optShbUserAppl        = 4
	optIfName             = 2
	optIfTsresol          = 9
	tsresolNanos          = 9
	enhancedPacketHeadLen = 28 // type, length, interface, ts high, ts low, captured, original
	sectionHeadLen        = 24 // type, length, byte order, version, section length
	interfaceHeadLen      = 16 // type, length, link type, reserved, snaplen
	blockTrailerLen       = 4
)

// application names the writer in the section header.
const application = "chatlab sniff"

// padded rounds n up to a multiple of 4, as pcapng aligns everything.
func padded(n int) int { return (n + 3) &^ 3 }

// optionLen is the size of an option with a value of n bytes.
func optionLen(n int) int { return 4 + padded(n) }

// appendOption adds one option, its value padded with zeros.
func appendOption(b []byte, code uint16, val []byte) []byte {
	b = le.AppendUint16(b, code)
	b = le.AppendUint16(b, uint16(len(val)))
	b = append(b, val...)
	return append(b, make([]byte, padded(len(val))-len(val))...)
}

// sectionHeader writes the section header block, little-endian, of
// unknown section length.
func (d *Writer) sectionHeader() {
	total := sectionHeadLen + optionLen(len(application)) + 4 + blockTrailerLen
	b := d.scratch[:0]
	b = le.AppendUint32(b, blockSectionHeader)
	b = le.AppendUint32(b, uint32(total))
	b = le.AppendUint32(b, byteOrderMagic)
	b = le.AppendUint16(b, 1) // major version
	b = le.AppendUint16(b, 0) // minor version
	b = le.AppendUint64(b, ^uint64(0))
	b = appendOption(b, optShbUserAppl, []byte(application))
	b = appendOption(b, optEnd, nil)
	b = le.AppendUint32(b, uint32(total))
	d.scratch = b
	d.write(b)
}

// iface returns the interface id for link, writing its interface
// description block the first time the link type is seen.
func (d *Writer) iface(link layers.LinkType) uint32 {
	if id, ok := d.ifaces[link]; ok {
		return id
	}
	id := uint32(len(d.ifaces))
	d.ifaces[link] = id
	name := []byte(d.opt.Interface)
	total := interfaceHeadLen + optionLen(1) + 4 + blockTrailerLen
	if len(name) > 0 {
		total += optionLen(len(name))
	}
	b := d.scratch[:0]
	b = le.AppendUint32(b, blockInterface)
	b = le.AppendUint32(b, uint32(total))
	b = le.AppendUint16(b, uint16(link))
	b = le.AppendUint16(b, 0) // reserved
	b = le.AppendUint32(b, uint32(d.opt.Snaplen))
	if len(name) > 0 {
		b = appendOption(b, optIfName, name)
	}
	b = appendOption(b, optIfTsresol, []byte{tsresolNanos})
	b = appendOption(b, optEnd, nil)
	b = le.AppendUint32(b, uint32(total))
	d.scratch = b
	d.write(b)
	return id
}

// enhancedPacket writes one enhanced packet block, with its comment as
// an option if there is one.
func (d *Writer) enhancedPacket(id uint32, ci gopacket.CaptureInfo, data []byte, length int, comment string) {
	total := enhancedPacketHeadLen + padded(len(data)) + blockTrailerLen
	if comment != "" {
		total += optionLen(len(comment)) + 4
	}
	ts := uint64(ci.Timestamp.UnixNano())
	b := d.scratch[:0]
	b = le.AppendUint32(b, blockEnhancedPacket)
	b = le.AppendUint32(b, uint32(total))
	b = le.AppendUint32(b, id)
	b = le.AppendUint32(b, uint32(ts>>32))
	b = le.AppendUint32(b, uint32(ts))
	b = le.AppendUint32(b, uint32(len(data)))
	b = le.AppendUint32(b, uint32(length))
	d.write(b)
	d.write(data)
	b = append(b[:0], make([]byte, padded(len(data))-len(data))...)
	if comment != "" {
		b = le.AppendUint16(b, optComment)
		b = le.AppendUint16(b, uint16(len(comment)))
		b = append(b, comment...)
		b = append(b, make([]byte, padded(len(comment))-len(comment))...)
		b = appendOption(b, optEnd, nil)
	}
	b = le.AppendUint32(b, uint32(total))
	d.scratch = b
	d.write(b)
}
