// Package dump writes captured packets to pcap or pcapng files that
// tcpdump, Wireshark and tshark read, including while they are being
// written: every packet is whole in the file once Flush returns, and the
// file is valid at every flush, header included from the start.
//
// pcapng adds what pcap cannot hold: a comment on a packet (Wireshark's
// frame.comment) and packets of several link types in one file, each
// link type with an interface block of its own.
package dump

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Format is a capture file format.
type Format int

// The formats a Writer writes.
const (
	// PCAP is the classic libpcap format with microsecond timestamps,
	// what tcpdump -w writes: one link type, no comments.
	PCAP Format = iota
	// PCAPNG is the pcap next generation format with nanosecond
	// timestamps, packet comments and one interface per link type.
	PCAPNG
)

// FormatFor is the format for a file name: pcapng when it ends in
// ".pcapng", otherwise pcap, as tcpdump writes.
func FormatFor(name string) Format {
	if strings.HasSuffix(strings.ToLower(name), ".pcapng") {
		return PCAPNG
	}
	return PCAP
}

// ErrLinkType is returned for a packet pcap cannot hold: its link type is
// not the file's. pcapng holds any mix.
var ErrLinkType = errors.New("dump: a pcap file holds one link type; write pcapng for several")

// Limits.
const (
	// DefaultSnaplen is the snapshot length a file declares when Options
	// gives none: tcpdump's, which covers the largest loopback packet.
	DefaultSnaplen = 262144
	// bufferSize is the write buffer: a flush of a busy moment is one
	// large write rather than one per packet.
	bufferSize = 256 << 10
	// maxComment is the longest comment kept on a packet: a pcapng
	// option's length is 16 bits, and the option is padded to 4 bytes.
	maxComment = 65532
)

// Options describe a new file.
type Options struct {
	// Format is PCAP or PCAPNG.
	Format Format
	// LinkType is the link type of the packets WritePacket writes.
	LinkType layers.LinkType
	// Snaplen is the longest packet the file declares it may hold;
	// longer packets are cut to it. Zero means DefaultSnaplen.
	Snaplen int
	// Interface names the capture's interface in pcapng ("lo"); empty
	// leaves the name out.
	Interface string
}

// Writer writes packets to one file. Writes are buffered: call Flush to
// make them visible to a reader of the file, and before closing it.
// Errors are sticky: once a write has failed, every later call returns
// that error. A Writer is for one goroutine at a time.
type Writer struct {
	w       *bufio.Writer
	opt     Options
	ifaces  map[layers.LinkType]uint32 // pcapng interface id per link type
	scratch []byte
	err     error
}

// New writes the file header (and, for pcapng, the first interface
// block) and returns a Writer. The header is flushed at once, so even a
// capture killed before its first packet leaves a valid, empty file.
func New(w io.Writer, opt Options) (*Writer, error) {
	if opt.Snaplen <= 0 {
		opt.Snaplen = DefaultSnaplen
	}
	d := &Writer{w: bufio.NewWriterSize(w, bufferSize), opt: opt}
	switch opt.Format {
	case PCAP:
		d.pcapHeader()
	case PCAPNG:
		d.ifaces = map[layers.LinkType]uint32{}
		d.sectionHeader()
		d.iface(opt.LinkType)
	default:
		return nil, fmt.Errorf("dump: unknown format %d", opt.Format)
	}
	if err := d.Flush(); err != nil {
		return nil, err
	}
	return d, nil
}

// WritePacket writes one packet of the file's link type.
func (d *Writer) WritePacket(ci gopacket.CaptureInfo, data []byte) error {
	return d.WritePacketAs(d.opt.LinkType, ci, data, "")
}

// WritePacketAs writes one packet of link type link, with comment
// attached in pcapng (pcap has nowhere to keep it; an empty comment is
// none). A comment longer than maxComment is cut at a character boundary.
func (d *Writer) WritePacketAs(link layers.LinkType, ci gopacket.CaptureInfo, data []byte, comment string) error {
	if d.err != nil {
		return d.err
	}
	if len(data) > d.opt.Snaplen {
		data = data[:d.opt.Snaplen]
	}
	length := max(ci.Length, len(data))
	if d.opt.Format == PCAP {
		if link != d.opt.LinkType {
			return fmt.Errorf("%w (file %s, packet %s)", ErrLinkType, d.opt.LinkType, link)
		}
		d.pcapRecord(ci, data, length)
	} else {
		if !utf8.ValidString(comment) {
			comment = strings.ToValidUTF8(comment, "\uFFFD") // pcapng comments are UTF-8
		}
		d.enhancedPacket(d.iface(link), ci, data, length, cutComment(comment))
	}
	return d.err
}

// Flush writes out what is buffered.
func (d *Writer) Flush() error {
	if d.err == nil {
		if err := d.w.Flush(); err != nil {
			d.err = fmt.Errorf("dump: write: %w", err)
		}
	}
	return d.err
}

// write adds b to the buffer, keeping the first error.
func (d *Writer) write(b []byte) {
	if d.err != nil {
		return
	}
	if _, err := d.w.Write(b); err != nil {
		d.err = fmt.Errorf("dump: write: %w", err)
	}
}

// cutComment shortens s to at most maxComment bytes, at a rune boundary.
func cutComment(s string) string {
	if len(s) <= maxComment {
		return s
	}
	s = s[:maxComment]
	for len(s) > 0 && !utf8.ValidString(s[len(s)-min(len(s), utf8.UTFMax):]) {
		s = s[:len(s)-1]
	}
	return s
}

var le = binary.LittleEndian
