package sniff

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ErrNotCapture is returned for a file that is neither pcap nor pcapng.
var ErrNotCapture = errors.New("sniff: not a pcap or pcapng file")

// fileBuffer is the read buffer for capture files.
const fileBuffer = 1 << 20

// pcapngMagic opens every pcapng file (its section header block type).
const pcapngMagic = 0x0a0d0d0a

// OpenFile reads a pcap or a pcapng capture, as tcpdump, Wireshark and
// tshark write them, telling the two apart by their first bytes.
func OpenFile(r io.Reader) (gopacket.PacketDataSource, layers.LinkType, error) {
	br := bufio.NewReaderSize(r, fileBuffer)
	head, err := br.Peek(4)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrNotCapture, err)
	}
	if binary.LittleEndian.Uint32(head) == pcapngMagic {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: %v", ErrNotCapture, err)
		}
		return ng, ng.LinkType(), nil
	}
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrNotCapture, err)
	}
	return pr, pr.LinkType(), nil
}
