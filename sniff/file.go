package sniff

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket/layers"
)

// ErrNotCapture is returned for a file that is neither pcap nor pcapng.
var ErrNotCapture = errors.New("sniff: not a pcap or pcapng file")

// fileBuffer is the read buffer for capture files.
const fileBuffer = 1 << 20

// gzipMagic opens every gzip stream (tshark and Wireshark read
// compressed captures; so does sniff).
const gzipMagic = 0x1f8b

// OpenFile reads a pcap or a pcapng capture, as tcpdump, Wireshark and
// tshark write them, plain or gzip-compressed, telling them apart by
// their first bytes. The link type returned is the file's (a pcapng's
// first interface's); File.ReadPacket gives each packet's own.
func OpenFile(r io.Reader) (*File, layers.LinkType, error) {
	br := bufio.NewReaderSize(r, fileBuffer)
	head, err := br.Peek(4)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %d bytes (%v)", ErrNotCapture, len(head), err)
	}
	if binary.BigEndian.Uint16(head) == gzipMagic {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: gzip: %v", ErrNotCapture, err)
		}
		br = bufio.NewReaderSize(zr, fileBuffer)
		if head, err = br.Peek(4); err != nil {
			return nil, 0, fmt.Errorf("%w: gzip holds %d bytes (%v)", ErrNotCapture, len(head), err)
		}
	}
	var f *File
	if binary.LittleEndian.Uint32(head) == ngSHB {
		f, err = openPcapng(br)
	} else {
		f, err = openPcap(br, head)
	}
	if err != nil {
		return nil, 0, err
	}
	return f, f.LinkType(), nil
}
