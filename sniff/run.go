package sniff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"

	"chatlab/sniff/dump"
	"chatlab/sniff/event"
	"chatlab/sniff/filter"
	"chatlab/sniff/render"
)

// CaptureStatser is a live packet source that can say what the kernel
// captured and dropped; Run puts it in the summary.
type CaptureStatser interface {
	CaptureStats() *event.CaptureStats
}

// ErrLinkType is returned for a capture whose link type sniff cannot decode.
var ErrLinkType = errors.New("sniff: unsupported link type")

// decodedLinks names the link types sniff decodes, for ErrLinkType.
const decodedLinks = "EN10MB, LINUX_SLL, LINUX_SLL2, NULL, LOOP, RAW, IPV4 and IPV6"

// Source is a capture whose packets each come with their own link type,
// as in a pcapng file of several interfaces. File is one. The data is
// valid until the next call; the end is io.EOF.
type Source interface {
	ReadPacket() (data []byte, ci gopacket.CaptureInfo, link layers.LinkType, err error)
}

// flushInterval is how often Follow asks the reassembler to give up on
// missing segments, so a lost packet delays a conversation by at most
// this long. It is measured on the packets' own timestamps, so a file
// read with -r is shown as the live capture was.
const flushInterval = 2 * time.Second

// idleTimeout is how long, in packet time, Follow's reassembler keeps a
// connection that has gone quiet. A connection whose FIN or RST was never
// captured is otherwise kept to the end of a file. One that speaks again
// is picked up where it was, as a capture begun mid-stream is.
const idleTimeout = time.Minute

// maxBufferedPagesPerConn bounds the out-of-order data Follow holds for
// one connection while it waits for a missing segment. A page is 1900
// bytes, so this is about 480 KB: several full loopback segments. Beyond
// it the reassembler skips the hole, which is shown as missing bytes.
const maxBufferedPagesPerConn = 256

// maxBufferedPagesTotal bounds the out-of-order data over all
// connections, about 7.6 MB.
const maxBufferedPagesTotal = 4096

// runner is the state of one Run.
type runner struct {
	cfg     Config
	src     gopacket.PacketDataSource
	match   *filter.Matcher // nil for a live capture: the kernel ran it
	tap     *Tap
	dec     *decoder
	dump    *dump.Writer
	asm     *reassembly.Assembler
	shown   int
	packets int // read, matching or not: tshark's frame numbers
	// comments collects each packet's dissection for an annotated
	// (pcapng) -w file; nil otherwise.
	comments *render.Comments
	seg      event.Segment
	flushed  time.Time
}

// Run prints the TCP segments read from src, whose frames are of type
// link (or each of its own, if src is a Source), until src ends, ctx is
// done or cfg.Count segments have been shown. Then it prints the IV reuse
// recovery and, with cfg.Stats, the summary, and returns each
// connection's statistics. A damaged file ends the reading with its
// *DamagedError, returned after everything before the damage is shown.
func Run(ctx context.Context, src gopacket.PacketDataSource, link layers.LinkType, cfg Config) ([]event.ConnStats, error) {
	perPacket, _ := src.(Source)
	if perPacket == nil && !Decodable(link) {
		return nil, linkTypeError(link, -1)
	}
	dec := newDecoder()
	r := &runner{cfg: cfg, src: src, dec: dec}
	if cfg.Dump != nil && cfg.DumpFormat == dump.PCAPNG {
		r.comments = &render.Comments{}
		cfg.Sink = teeSink(cfg.Sink, r.comments)
	}
	r.tap = newTap(cfg)
	if !cfg.Live {
		r.match = cfg.Filter.Matcher()
	}
	r.tap.flushEach = false
	if cfg.Dump != nil {
		var err error
		r.dump, err = dump.New(cfg.Dump, dump.Options{Format: cfg.DumpFormat, LinkType: link, Snaplen: filter.Snaplen})
		if err != nil {
			return nil, fmt.Errorf("sniff: write -w file: %w", err)
		}
	}
	if cfg.Follow {
		r.asm = reassembly.NewAssembler(reassembly.NewStreamPool(&streamFactory{r: r}))
		r.asm.MaxBufferedPagesPerConnection = maxBufferedPagesPerConn
		r.asm.MaxBufferedPagesTotal = maxBufferedPagesTotal
	}
	zc, _ := src.(gopacket.ZeroCopyPacketDataSource)
	var err error
	if cfg.Live {
		err = r.pipe(ctx, src, link)
	}
	// Nothing to show and nothing to count: copy, as tcpdump -r -w does,
	// without dissecting.
	copyOnly := !cfg.Live && cfg.Out == nil && cfg.Sink == nil && !cfg.Stats && r.dump != nil && r.comments == nil
	for !cfg.Live && ctx.Err() == nil && (cfg.Count <= 0 || r.shown < cfg.Count) {
		var data []byte
		var ci gopacket.CaptureInfo
		pl := link
		switch {
		case perPacket != nil:
			data, ci, pl, err = perPacket.ReadPacket()
		case zc != nil:
			data, ci, err = zc.ZeroCopyReadPacketData()
		default:
			data, ci, err = src.ReadPacketData()
		}
		if err != nil {
			break
		}
		if copyOnly {
			err = r.copyPacket(data, ci, pl)
		} else {
			err = r.packet(data, ci, pl)
		}
		if err != nil {
			break
		}
	}
	if errors.Is(err, io.EOF) || ctx.Err() != nil {
		err = nil
	}
	if err != nil && !cfg.Live && !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrLinkType) { // Pipe's errors say what failed
		err = fmt.Errorf("sniff: read packets: %w", err)
	}
	if r.asm != nil {
		r.tap.mu.Lock()
		r.asm.FlushAll()
		r.tap.mu.Unlock()
	}
	if r.dump != nil {
		if derr := r.dump.Flush(); err == nil && derr != nil {
			err = fmt.Errorf("sniff: write -w file: %w", derr)
		}
	}
	var capture *event.CaptureStats
	if cs, ok := src.(CaptureStatser); ok {
		capture = cs.CaptureStats()
	}
	r.tap.mu.Lock()
	cerr := r.tap.closeLocked(capture)
	r.tap.mu.Unlock()
	if err == nil && cerr != nil {
		err = fmt.Errorf("sniff: write output: %w", cerr)
	}
	return r.tap.Stats(), err
}

// pipe runs a live capture through Pipe: packets are read off the ring
// and written to -w first, and shown behind them with a bounded backlog;
// an annotated (pcapng) file gets each packet after its dissection,
// unless the display is far behind.
func (r *runner) pipe(ctx context.Context, src gopacket.PacketDataSource, link layers.LinkType) error {
	pc := PipeConfig{Link: link, Dump: r.dump, Count: r.cfg.Count, Annotate: r.comments != nil,
		Show: func(data []byte, ci gopacket.CaptureInfo) (string, error) {
			err := r.packet(data, ci, link)
			if r.comments == nil {
				return "", err
			}
			return r.comments.Take(), err
		},
		Skipped: func(n int) {
			r.tap.mu.Lock()
			defer r.tap.mu.Unlock()
			r.tap.emitWarning(nil, 0, event.WarnGap, strings.TrimSuffix(SkipNotice(n), "\n"))
		},
	}
	pc.FlushEach = r.cfg.PacketBuffered
	r.dump = nil // Pipe writes it
	ps, err := Pipe(ctx, src, pc)
	if r.cfg.PipeStats != nil {
		*r.cfg.PipeStats = ps
	}
	return err
}

// linkTypeError is ErrLinkType for link, on pcapng interface iface (or
// -1 for a whole capture).
func linkTypeError(link layers.LinkType, iface int) error {
	on := ""
	if iface >= 0 {
		on = fmt.Sprintf(" on interface %d", iface)
	}
	return fmt.Errorf("%w %s%s; sniff decodes %s", ErrLinkType, LinkTypeName(link), on, decodedLinks)
}

// packet handles one captured frame of type link.
func (r *runner) packet(data []byte, ci gopacket.CaptureInfo, link layers.LinkType) (err error) {
	r.packets++
	d := r.dec
	if !Decodable(link) {
		iface := -1
		if f, ok := r.src.(*File); ok && f.ng {
			iface = ci.InterfaceIndex
		}
		return linkTypeError(link, iface)
	}
	if r.match != nil {
		// The program the kernel runs on a live capture, in x/net/bpf's
		// VM: the same filter means the same packets.
		if ok, err := r.match.Match(link, data); err != nil || !ok {
			return err
		}
	}
	if !d.decode(data, link) {
		return nil
	}
	r.shown++
	if r.dump != nil && r.comments == nil {
		if err := r.write(ci, data, link, ""); err != nil {
			return err
		}
	}
	t := r.tap
	t.mu.Lock()
	defer t.mu.Unlock()
	if r.comments != nil && r.dump != nil {
		// An annotated file gets each packet after its dissection, with
		// what was found in it as its comment.
		defer func() {
			for _, note := range r.cfg.Notes[r.packets] {
				r.comments.Add(note)
			}
			if werr := r.write(ci, data, link, r.comments.Take()); err == nil {
				err = werr
			}
		}()
	}
	if r.asm != nil && ci.Timestamp.Sub(r.flushed) > flushInterval {
		// What the clock has left behind goes first, before this packet.
		r.asm.FlushWithOptions(reassembly.FlushOptions{T: ci.Timestamp.Add(-flushInterval), TC: ci.Timestamp.Add(-idleTimeout)})
		r.flushed = ci.Timestamp
	}
	t.packet = r.packets
	c := t.conn(orient(d.src, d.dst, &d.tcp))
	if c.packets == 0 && d.tcp.SYN {
		c.ev.FromStart = true
	}
	c.count(d.tcp.Payload, r.cfg.Stats)
	if r.asm != nil {
		// Connections beyond maxConns are only counted: the reassembler
		// never sees them, so they cost it nothing.
		if !c.overflow {
			r.asm.AssembleWithContext(gopacket.NewFlow(endpointType(d.src), d.src.Addr().AsSlice(), d.dst.Addr().AsSlice()), &d.tcp, captureContext(ci))
			if wire := d.payloadLen(); wire > len(d.tcp.Payload) {
				dir := c2s
				if d.src != c.ev.Client {
					dir = s2c
				}
				t.cut(c, dir, wire-len(d.tcp.Payload))
			}
		}
	} else {
		r.segment(c, data, ci)
	}
	if r.cfg.LineBuffered {
		return t.flush()
	}
	return nil
}

func endpointType(a netip.AddrPort) gopacket.EndpointType {
	if a.Addr().Is4() {
		return layers.EndpointIPv4
	}
	return layers.EndpointIPv6
}

// orient guesses which end of a new connection is the client: the sender
// of a bare SYN, the receiver of a SYN-ACK, otherwise the higher port
// (servers listen on low, well-known ports; clients get ephemeral ones).
func orient(src, dst netip.AddrPort, tcp *layers.TCP) (client, server netip.AddrPort) {
	switch {
	case tcp.SYN && !tcp.ACK:
		return src, dst
	case tcp.SYN && tcp.ACK:
		return dst, src
	case src.Port() < dst.Port():
		return dst, src
	}
	return src, dst
}

// segment sends one segment and dissects its payload, in segment mode.
func (r *runner) segment(c *conn, data []byte, ci gopacket.CaptureInfo) {
	d, t := r.dec, r.tap
	tcp := &d.tcp
	dir, other := c2s, s2c
	if d.src != c.ev.Client {
		dir, other = s2c, c2s
	}
	h, o := &c.dirs[dir], &c.dirs[other]
	switch {
	case c.overflow:
		// One bucket for many connections has no sequence numbers of its
		// own: show them absolute, as tcpdump -S does, and dissect nothing.
		h, o = &half{haveISN: true}, &half{haveISN: true}
	case tcp.SYN:
		h.isn, h.haveISN, h.next, h.haveNext = tcp.Seq, true, tcp.Seq+1, true
	case !h.haveISN:
		h.isn, h.haveISN = tcp.Seq-1, true // joined mid-stream: count from 1
	}
	payload := tcp.Payload
	seg := &r.seg
	*seg = event.Segment{
		Dir: event.Dir(dir), Packet: r.packets, Time: ci.Timestamp, Src: d.src, Dst: d.dst,
		Flags: flagsOf(tcp), Seq: tcp.Seq - h.isn,
		Len: d.payloadLen(), Captured: len(payload), Network: d.network(data), Payload: payload,
	}
	if !c.overflow {
		seg.Conn = &c.ev
	}
	if tcp.ACK {
		seg.Ack = tcp.Ack
		if o.haveISN {
			seg.Ack -= o.isn
		}
	}
	t.sink.Emit(seg)
	if seg.Len > 0 && !c.overflow {
		r.payload(c, dir, h, payload, seg.Len)
	}
	if tcp.FIN && h.haveNext {
		h.next++
	}
}

// payload dissects a segment's payload in segment mode: wire bytes were
// sent, of which payload was captured. Sequence numbers show what was
// lost before it, what is sent again, and what the snap length cut off.
func (r *runner) payload(c *conn, dir int, h *half, payload []byte, wire int) {
	t, seq := r.tap, r.dec.tcp.Seq
	if !h.haveNext {
		h.next, h.haveNext = seq, true
	}
	end := seq + uint32(wire)
	diff := int32(seq - h.next)
	switch {
	case diff > 0:
		t.gap(c, dir, int(diff))
	case diff < 0 && int32(end-h.next) <= 0:
		if len(payload) > 0 {
			t.rawUnit(c, dir, payload, "old data again (retransmission or out of order), not dissected")
		}
		return
	case diff < 0:
		payload = payload[min(int(-diff), len(payload)):]
	}
	if len(payload) > 0 {
		t.feed(c, dir, payload)
	}
	// What the snap length cut off was still sent: the next segment
	// starts after it, and the dissector hears of the hole here, not
	// there.
	from := seq + uint32(len(r.dec.tcp.Payload))
	if int32(h.next-from) > 0 {
		from = h.next
	}
	if missing := int32(end - from); missing > 0 {
		t.cutNotice(c, dir, int(missing))
	}
	h.next = end
}

// copyPacket writes a packet that the filter keeps to the -w file, with
// no dissection: the -w copy of a file read with nothing to show.
func (r *runner) copyPacket(data []byte, ci gopacket.CaptureInfo, link layers.LinkType) error {
	r.packets++
	if !Decodable(link) {
		return linkTypeError(link, -1)
	}
	if r.match != nil {
		if ok, err := r.match.Match(link, data); err != nil || !ok {
			return err
		}
	}
	r.shown++
	return r.write(ci, data, link, "")
}

// write writes one packet to the -w file, flushing it at once in a live
// capture (tcpdump -U) so that readers of the growing file see it.
func (r *runner) write(ci gopacket.CaptureInfo, data []byte, link layers.LinkType, comment string) error {
	ci.CaptureLength = len(data)
	if err := r.dump.WritePacketAs(link, ci, data, comment); err != nil {
		return fmt.Errorf("write -w file: %w", err)
	}
	if r.cfg.Live {
		if err := r.dump.Flush(); err != nil {
			return fmt.Errorf("write -w file: %w", err)
		}
	}
	return nil
}

// flagsOf returns a segment's TCP flags.
func flagsOf(tcp *layers.TCP) event.Flags {
	var f event.Flags
	for _, x := range []struct {
		on bool
		f  event.Flags
	}{{tcp.FIN, event.FIN}, {tcp.SYN, event.SYN}, {tcp.RST, event.RST}, {tcp.PSH, event.PSH},
		{tcp.ACK, event.ACK}, {tcp.URG, event.URG}, {tcp.ECE, event.ECE}, {tcp.CWR, event.CWR}} {
		if x.on {
			f |= x.f
		}
	}
	return f
}

// teeSink adds s to a sink that may be nil.
func teeSink(sink, s event.Sink) event.Sink {
	if sink == nil {
		return s
	}
	return event.Tee(sink, s)
}
