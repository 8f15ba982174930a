package dump

import (
	"github.com/gopacket/gopacket"
)

// pcap file header values (the libpcap format, as tcpdump writes it).
const (
	pcapMagicMicros = 0xa1b2c3d4
	pcapVersionMaj  = 2
	pcapVersionMin  = 4
	pcapHeaderLen   = 24
	pcapRecordLen   = 16
)

// pcapHeader writes the 24-byte file header.
func (d *Writer) pcapHeader() {
	b := d.scratch[:0]
	b = le.AppendUint32(b, pcapMagicMicros)
	b = le.AppendUint16(b, pcapVersionMaj)
	b = le.AppendUint16(b, pcapVersionMin)
	b = le.AppendUint32(b, 0) // time zone offset: always UTC
	b = le.AppendUint32(b, 0) // timestamp accuracy: unused
	b = le.AppendUint32(b, uint32(d.opt.Snaplen))
	b = le.AppendUint32(b, uint32(d.opt.LinkType))
	d.scratch = b
	d.write(b)
}

// pcapRecord writes one packet record: its header, then its bytes.
func (d *Writer) pcapRecord(ci gopacket.CaptureInfo, data []byte, length int) {
	ts := ci.Timestamp
	b := d.scratch[:0]
	b = le.AppendUint32(b, uint32(ts.Unix()))
	b = le.AppendUint32(b, uint32(ts.Nanosecond()/1000))
	b = le.AppendUint32(b, uint32(len(data)))
	b = le.AppendUint32(b, uint32(length))
	d.scratch = b
	d.write(b)
	d.write(data)
}
