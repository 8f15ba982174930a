package sniff

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// ErrDamaged is matched (with errors.Is) by every DamagedError.
var ErrDamaged = errors.New("sniff: damaged capture")

// DamagedError says where a capture file stops making sense. Every packet
// before that point has been returned; what follows is not read, as
// tcpdump does.
type DamagedError struct {
	Offset  int64  // the byte of the file where the damage starts
	Packets int    // packets read before it
	Reason  string // what is wrong, for a person
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("sniff: damaged capture: %s (at byte %d, after %d packets)", e.Reason, e.Offset, e.Packets)
}

// Is makes errors.Is(err, ErrDamaged) true.
func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }

// Limits on what a capture file may claim. They are checked before
// anything is allocated, so a lying length costs nothing.
const (
	// MaxSnaplen is the largest captured length a packet may have:
	// tcpdump's own limit (MAXIMUM_SNAPLEN), so a file tcpdump refuses
	// is refused here too.
	MaxSnaplen = 262144
	// maxBlock is the largest pcapng block read into memory: libpcap's
	// limit, far above a full packet with its options. Blocks sniff does
	// not need are skipped without being held, whatever their size.
	maxBlock = 16 << 20
	// maxInterfaces is how many interfaces of a pcapng section are kept.
	// Real captures have a handful (tshark -i any is one); past this the
	// blocks are counted, not stored, so meaningless ones cost no memory.
	maxInterfaces = 1 << 12
	// readChunk is how much of a block is read at a time, so memory
	// follows the bytes that really arrive, not the length a block claims.
	readChunk = 64 << 10
)

// File formats: the pcap magic numbers (in the writer's byte order) and
// the pcapng block types sniff reads.
const (
	pcapMagicMicro = 0xa1b2c3d4
	pcapMagicNano  = 0xa1b23c4d
	pcapMagicKuz   = 0xa1b2cd34 // Alexey Kuznetzov's patched pcap: 8 more bytes a record
	pcapHeaderLen  = 24
	pcapRecordLen  = 16
	pcapKuzExtra   = 8

	ngSHB         = 0x0a0d0d0a
	ngIDB         = 1
	ngPB          = 2 // obsolete packet block
	ngSPB         = 3
	ngEPB         = 6
	ngByteOrder   = 0x1a2b3c4d
	ngOptEnd      = 0
	ngOptTsresol  = 9
	ngOptTsoffset = 14
	// linkTypeMask keeps the link type of a pcap header's field, whose
	// top bits may carry the FCS length.
	linkTypeMask = 0x03ffffff
)

// ngInterface is what sniff keeps of a pcapng interface description.
type ngInterface struct {
	link    uint32
	snaplen uint32
	res     tsResolution
	offset  int64 // if_tsoffset, seconds
}

// tsResolution turns a pcapng timestamp into time: units of 10^-exp
// seconds, or of 2^-exp seconds when binary is set.
type tsResolution struct {
	exp    uint8
	binary bool
}

// maxDecimalExp is the finest decimal resolution whose unit count per
// second, 10^19, still fits in 64 bits.
const maxDecimalExp = 19

// maxBinaryExp is the finest binary resolution: 2^-63 s. At 64 the shift
// would leave nothing (pcapgo divides by zero there).
const maxBinaryExp = 63

// time converts ts units since the epoch, without overflow for any ts.
func (r tsResolution) time(ts uint64, offset int64) time.Time {
	var sec, frac, nanos uint64
	if r.binary {
		sec, frac = ts>>r.exp, ts&(1<<r.exp-1)
		if r.exp > 0 {
			// frac·10^9 / 2^exp, in 128 bits so no frac overflows.
			hi, lo := bits.Mul64(frac, 1e9)
			nanos = hi<<(64-r.exp) | lo>>r.exp
		}
	} else {
		unit := uint64(1)
		for i := uint8(0); i < r.exp; i++ {
			unit *= 10
		}
		sec, frac = ts/unit, ts%unit
		switch {
		case r.exp <= 9:
			for i := r.exp; i < 9; i++ {
				frac *= 10
			}
			nanos = frac
		default:
			for i := uint8(9); i < r.exp; i++ {
				frac /= 10
			}
			nanos = frac
		}
	}
	return time.Unix(int64(sec)+offset, int64(nanos)).UTC()
}

// File reads a pcap or pcapng capture one packet at a time, checking
// every length against the limits above and against the bytes really
// there. A pcapng file's packets each come with their own interface's
// link type. Make one with OpenFile.
type File struct {
	r       *bufio.Reader
	ng      bool
	order   binary.ByteOrder
	nano    bool   // pcap: nanosecond timestamps
	kuz     bool   // pcap: Kuznetzov's longer records
	link    uint32 // pcap: the file's link type; pcapng: the first interface's
	snaplen uint32 // pcap: the header's snaplen, as written

	ifaces   []ngInterface // of the current pcapng section
	extraIfs int           // interfaces beyond maxInterfaces in it

	buf     []byte
	offset  int64 // bytes of the file consumed
	packets int
	err     error // sticky: once the file fails, it stays failed
}

// LinkType is the link type of a pcap file, or of a pcapng file's first
// interface (a pcapng may hold others; see ReadPacket).
func (f *File) LinkType() layers.LinkType { return layers.LinkType(f.link) }

// ReadPacket returns the next packet and its link type. The data is valid
// until the next call. At the clean end of the file it returns io.EOF;
// where the file is damaged (cut off, an impossible length), a
// *DamagedError, and from then on io.EOF.
func (f *File) ReadPacket() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	if f.err != nil {
		return nil, gopacket.CaptureInfo{}, 0, f.err
	}
	var data []byte
	var ci gopacket.CaptureInfo
	var link uint32
	var err error
	if f.ng {
		data, ci, link, err = f.nextBlockPacket()
	} else {
		data, ci, err = f.nextRecord()
		link = f.link
	}
	if err != nil {
		f.err = io.EOF
		return nil, gopacket.CaptureInfo{}, 0, err
	}
	f.packets++
	if ci.Length < ci.CaptureLength {
		ci.Length = ci.CaptureLength // nothing is captured that was not sent
	}
	return data, ci, layers.LinkType(link), nil
}

// ReadPacketData makes File a gopacket.PacketDataSource: ReadPacket with
// the link type dropped and the data copied.
func (f *File) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	data, ci, _, err := f.ReadPacket()
	return append([]byte(nil), data...), ci, err
}

// ZeroCopyReadPacketData is ReadPacket without the link type.
func (f *File) ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	data, ci, _, err := f.ReadPacket()
	return data, ci, err
}

// damaged builds the error for damage found at the current offset.
func (f *File) damaged(format string, args ...any) error {
	return &DamagedError{Offset: f.offset, Packets: f.packets, Reason: fmt.Sprintf(format, args...)}
}

// read returns the next n bytes of the file, in a buffer reused by the
// next read. A file that ends before the first of them is at its clean
// end (io.EOF); one that ends inside them is cut off, in what.
func (f *File) read(n int, what string) ([]byte, error) {
	f.buf = f.buf[:0]
	return f.buf, f.more(n, what, true)
}

// more appends the next n bytes to f.buf, growing it only as bytes
// arrive, so a block that claims more than the file holds costs only what
// is there.
func (f *File) more(n int, what string, clean bool) error {
	start := len(f.buf)
	for len(f.buf)-start < n {
		k := min(n-(len(f.buf)-start), readChunk)
		at := len(f.buf)
		f.buf = append(f.buf, make([]byte, k)...)
		got, err := io.ReadFull(f.r, f.buf[at:])
		f.offset += int64(got)
		if err != nil {
			have := at + got - start
			f.buf = f.buf[:at+got]
			if have == 0 && clean && errors.Is(err, io.EOF) {
				return io.EOF
			}
			return f.cutOff(err, what, have, n)
		}
	}
	return nil
}

// cutOff turns a read error inside something into a DamagedError.
func (f *File) cutOff(err error, what string, got, want int) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return f.damaged("the file is cut off in the middle of %s (%d of its %d bytes are there)", what, got, want)
	}
	return f.damaged("reading %s: %v", what, err)
}

// skip discards n bytes without holding them.
func (f *File) skip(n int64, what string) error {
	got, err := io.CopyN(io.Discard, f.r, n)
	f.offset += got
	if err != nil {
		return f.cutOff(err, what, int(got), int(n))
	}
	return nil
}

// openPcap reads a pcap file header; head holds its first 4 bytes.
func openPcap(br *bufio.Reader, head []byte) (*File, error) {
	f := &File{r: br}
	switch {
	case binary.LittleEndian.Uint32(head) == pcapMagicMicro:
		f.order = binary.LittleEndian
	case binary.BigEndian.Uint32(head) == pcapMagicMicro:
		f.order = binary.BigEndian
	case binary.LittleEndian.Uint32(head) == pcapMagicNano:
		f.order, f.nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(head) == pcapMagicNano:
		f.order, f.nano = binary.BigEndian, true
	case binary.LittleEndian.Uint32(head) == pcapMagicKuz:
		f.order, f.kuz = binary.LittleEndian, true
	case binary.BigEndian.Uint32(head) == pcapMagicKuz:
		f.order, f.kuz = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("%w (it starts % x)", ErrNotCapture, head)
	}
	h, err := f.read(pcapHeaderLen, "the file header")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotCapture, err)
	}
	if major := f.order.Uint16(h[4:]); major != 2 {
		return nil, fmt.Errorf("%w: pcap version %d.%d (sniff reads 2.x)", ErrNotCapture, major, f.order.Uint16(h[6:]))
	}
	f.snaplen = f.order.Uint32(h[16:])
	f.link = f.order.Uint32(h[20:]) & linkTypeMask
	return f, nil
}

// nextRecord reads one pcap record.
func (f *File) nextRecord() ([]byte, gopacket.CaptureInfo, error) {
	hlen := pcapRecordLen
	if f.kuz {
		hlen += pcapKuzExtra
	}
	h, err := f.read(hlen, "a packet header")
	if err != nil {
		return nil, gopacket.CaptureInfo{}, err
	}
	sec, frac := f.order.Uint32(h), f.order.Uint32(h[4:])
	caplen, wire := f.order.Uint32(h[8:]), f.order.Uint32(h[12:])
	if caplen > MaxSnaplen {
		return nil, gopacket.CaptureInfo{}, f.damaged("packet %d claims a captured length of %d bytes, more than any capture holds (%d)", f.packets+1, caplen, MaxSnaplen)
	}
	nanos := int64(frac)
	if !f.nano {
		nanos *= 1000
	}
	ci := gopacket.CaptureInfo{
		Timestamp:     time.Unix(int64(sec), nanos).UTC(),
		CaptureLength: int(caplen),
		Length:        int(wire),
	}
	if err := f.more(int(caplen), fmt.Sprintf("packet %d", f.packets+1), false); err != nil {
		return nil, gopacket.CaptureInfo{}, err
	}
	return f.buf[hlen:], ci, nil
}

// openPcapng reads the first section header of a pcapng file.
func openPcapng(br *bufio.Reader) (*File, error) {
	f := &File{r: br, ng: true, order: binary.LittleEndian}
	typ, body, err := f.block()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotCapture, err)
	}
	if typ != ngSHB {
		return nil, fmt.Errorf("%w: pcapng without a section header", ErrNotCapture)
	}
	if err := f.section(body); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotCapture, err)
	}
	// The first interface, if it comes before any packet, names the
	// file's link type (for -w). Look ahead without losing a packet.
	f.link = uint32(layers.LinkTypeEthernet)
	if b, err := br.Peek(28); err == nil && f.order.Uint32(b) == ngIDB {
		f.link = uint32(f.order.Uint16(b[8:]))
	}
	return f, nil
}

// block reads one pcapng block and returns its type and body (between
// the length fields). A section header sets the byte order first. Blocks
// sniff does not read are skipped here, their body never held.
func (f *File) block() (uint32, []byte, error) {
	for {
		h, err := f.read(12, "a block header")
		if err != nil {
			return 0, nil, err
		}
		typ := binary.LittleEndian.Uint32(h)
		if typ == ngSHB {
			switch bom := binary.LittleEndian.Uint32(h[8:]); bom {
			case ngByteOrder:
				f.order = binary.LittleEndian
			case bits.ReverseBytes32(ngByteOrder):
				f.order = binary.BigEndian
			default:
				return 0, nil, f.damaged("a section header with the byte-order mark %#08x", bom)
			}
		} else {
			typ = f.order.Uint32(h)
		}
		total := f.order.Uint32(h[4:])
		if total < 12 || typ == ngSHB && total < 28 || total%4 != 0 {
			return 0, nil, f.damaged("a block (type %#x) whose length %d is impossible", typ, total)
		}
		what := fmt.Sprintf("a block of type %#x", typ)
		switch typ {
		case ngSHB, ngIDB, ngPB, ngSPB, ngEPB:
		default:
			if err := f.skip(int64(total)-12, what); err != nil {
				return 0, nil, err
			}
			continue
		}
		if total > maxBlock {
			return 0, nil, f.damaged("a block (type %#x) of %d bytes, more than any capture needs (%d)", typ, total, maxBlock)
		}
		if err := f.more(int(total)-12, what, false); err != nil {
			return 0, nil, err
		}
		// The body follows the length; a section header's starts after
		// its byte-order mark. The trailing length is not in it.
		from := 8
		if typ == ngSHB {
			from = 12
		}
		return typ, f.buf[from : len(f.buf)-4], nil
	}
}

// section starts a new section: its interfaces are forgotten.
func (f *File) section(body []byte) error {
	if len(body) < 12 {
		return f.damaged("a section header of %d bytes", len(body)+12)
	}
	if major := f.order.Uint16(body); major != 1 {
		return f.damaged("pcapng version %d.%d (sniff reads 1.x)", major, f.order.Uint16(body[2:]))
	}
	f.ifaces, f.extraIfs = f.ifaces[:0], 0
	return nil
}

// iface reads an interface description block's body.
func (f *File) iface(body []byte) error {
	if len(body) < 8 {
		return f.damaged("an interface description of %d bytes", len(body)+12)
	}
	if len(f.ifaces) >= maxInterfaces {
		f.extraIfs++
		return nil
	}
	ifc := ngInterface{link: uint32(f.order.Uint16(body)), snaplen: f.order.Uint32(body[4:]), res: tsResolution{exp: 6}}
	for opts := body[8:]; len(opts) >= 4; {
		code, n := f.order.Uint16(opts), int(f.order.Uint16(opts[2:]))
		if code == ngOptEnd {
			break
		}
		opts = opts[4:]
		if n > len(opts) {
			return f.damaged("an interface option (code %d) of %d bytes in %d", code, n, len(opts))
		}
		val := opts[:n]
		opts = opts[min((n+3)&^3, len(opts)):]
		switch {
		case code == ngOptTsresol && n >= 1:
			ifc.res = tsResolution{exp: val[0] & 0x7f, binary: val[0]&0x80 != 0}
			if ifc.res.binary && ifc.res.exp > maxBinaryExp || !ifc.res.binary && ifc.res.exp > maxDecimalExp {
				return f.damaged("interface %d has a timestamp resolution (if_tsresol %#x) finer than any clock", len(f.ifaces), val[0])
			}
		case code == ngOptTsoffset && n >= 8:
			ifc.offset = int64(f.order.Uint64(val))
		}
	}
	f.ifaces = append(f.ifaces, ifc)
	return nil
}

// nextBlockPacket reads blocks until one holds a packet.
func (f *File) nextBlockPacket() ([]byte, gopacket.CaptureInfo, uint32, error) {
	for {
		typ, body, err := f.block()
		if err != nil {
			return nil, gopacket.CaptureInfo{}, 0, err
		}
		switch typ {
		case ngSHB:
			err = f.section(body)
		case ngIDB:
			err = f.iface(body)
		default:
			return f.packet(typ, body)
		}
		if err != nil {
			return nil, gopacket.CaptureInfo{}, 0, err
		}
	}
}

// packet decodes an enhanced, simple or obsolete packet block's body.
func (f *File) packet(typ uint32, body []byte) ([]byte, gopacket.CaptureInfo, uint32, error) {
	fail := func(err error) ([]byte, gopacket.CaptureInfo, uint32, error) {
		return nil, gopacket.CaptureInfo{}, 0, err
	}
	n := f.packets + 1
	var id, hi, lo, caplen, wire uint32
	var hlen int
	switch typ {
	case ngEPB, ngPB:
		hlen = 20
		if len(body) < hlen {
			return fail(f.damaged("packet %d's block is %d bytes, too short for its header", n, len(body)+12))
		}
		if typ == ngEPB {
			id = f.order.Uint32(body)
		} else {
			id = uint32(f.order.Uint16(body))
		}
		hi, lo = f.order.Uint32(body[4:]), f.order.Uint32(body[8:])
		caplen, wire = f.order.Uint32(body[12:]), f.order.Uint32(body[16:])
	case ngSPB:
		hlen = 4
		if len(body) < hlen {
			return fail(f.damaged("packet %d's block is %d bytes, too short for its header", n, len(body)+12))
		}
		wire = f.order.Uint32(body)
		caplen = min(wire, uint32(len(body)-hlen))
	}
	if int(id) >= len(f.ifaces) {
		if int(id) < len(f.ifaces)+f.extraIfs {
			return fail(f.damaged("packet %d is on interface %d; sniff keeps only the first %d of a section", n, id, maxInterfaces))
		}
		return fail(f.damaged("packet %d is on interface %d, which the file does not describe (it has %d)", n, id, len(f.ifaces)))
	}
	ifc := f.ifaces[id]
	if typ == ngSPB && ifc.snaplen > 0 {
		caplen = min(caplen, ifc.snaplen)
	}
	if caplen > MaxSnaplen {
		return fail(f.damaged("packet %d claims a captured length of %d bytes, more than any capture holds (%d)", n, caplen, MaxSnaplen))
	}
	if int(caplen) > len(body)-hlen {
		return fail(f.damaged("packet %d claims %d captured bytes, but its block holds only %d", n, caplen, len(body)-hlen))
	}
	ci := gopacket.CaptureInfo{
		CaptureLength:  int(caplen),
		Length:         int(wire),
		InterfaceIndex: int(id),
	}
	if typ != ngSPB {
		ci.Timestamp = ifc.res.time(uint64(hi)<<32|uint64(lo), ifc.offset)
	}
	return body[hlen : hlen+int(caplen)], ci, ifc.link, nil
}
