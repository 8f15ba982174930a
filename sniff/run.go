package sniff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"

	"chatlab/sniff/dump"
	"chatlab/sniff/filter"
)

// ErrLinkType is returned for a capture whose link type sniff cannot decode.
var ErrLinkType = errors.New("sniff: unsupported link type")

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
	tap     *Tap
	dec     *decoder
	dump    *dump.Writer
	asm     *reassembly.Assembler
	shown   int
	line    []byte
	loc     *time.Location
	flushed time.Time
}

// Run prints the TCP segments read from src, whose frames are of type
// link, until src ends, ctx is done or cfg.Count segments have been shown.
// Then it prints the IV reuse recovery and, with cfg.Stats, the summary,
// and returns each connection's statistics.
func Run(ctx context.Context, src gopacket.PacketDataSource, link layers.LinkType, cfg Config) ([]ConnStats, error) {
	dec := newDecoder(link)
	if dec == nil {
		return nil, fmt.Errorf("%w %s (%d)", ErrLinkType, link, int(link))
	}
	if cfg.Filter == nil {
		cfg.Filter = &filter.Filter{}
	}
	r := &runner{cfg: cfg, tap: NewTap(cfg), dec: dec, loc: cfg.Location}
	if r.loc == nil {
		r.loc = time.Local
	}
	r.tap.segments = !cfg.Follow
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
	for ctx.Err() == nil && (cfg.Count <= 0 || r.shown < cfg.Count) {
		var data []byte
		var ci gopacket.CaptureInfo
		if zc != nil {
			data, ci, err = zc.ZeroCopyReadPacketData()
		} else {
			data, ci, err = src.ReadPacketData()
		}
		if err != nil {
			break
		}
		if err = r.packet(data, ci); err != nil {
			break
		}
	}
	if errors.Is(err, io.EOF) || ctx.Err() != nil {
		err = nil
	}
	if err != nil {
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
	if cerr := r.tap.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("sniff: write output: %w", cerr)
	}
	return r.tap.Stats(), err
}

// packet handles one captured frame.
func (r *runner) packet(data []byte, ci gopacket.CaptureInfo) error {
	d := r.dec
	if !d.decode(data) {
		return nil
	}
	if !r.cfg.Filter.Match(d.src.Addr(), d.dst.Addr(), d.src.Port(), d.dst.Port()) {
		return nil
	}
	r.shown++
	if r.dump != nil {
		ci.CaptureLength = len(data)
		if err := r.dump.WritePacket(ci, data); err != nil {
			return fmt.Errorf("write -w file: %w", err)
		}
		if r.cfg.Live {
			if err := r.dump.Flush(); err != nil { // tcpdump -U: readers of the file see it now
				return fmt.Errorf("write -w file: %w", err)
			}
		}
	}
	t := r.tap
	t.mu.Lock()
	defer t.mu.Unlock()
	if r.asm != nil && ci.Timestamp.Sub(r.flushed) > flushInterval {
		// What the clock has left behind goes first, before this packet.
		r.asm.FlushWithOptions(reassembly.FlushOptions{T: ci.Timestamp.Add(-flushInterval), TC: ci.Timestamp.Add(-idleTimeout)})
		r.flushed = ci.Timestamp
	}
	c := t.conn(orient(d.src, d.dst, &d.tcp))
	if c.packets == 0 && d.tcp.SYN {
		c.fromStart = true
	}
	c.count(d.tcp.Payload)
	if r.asm != nil {
		// Connections beyond maxConns are only counted: the reassembler
		// never sees them, so they cost it nothing.
		if !c.overflow {
			r.asm.AssembleWithContext(gopacket.NewFlow(endpointType(d.src), d.src.Addr().AsSlice(), d.dst.Addr().AsSlice()), &d.tcp, captureContext(ci))
		}
	} else {
		r.segment(c, ci)
	}
	if r.cfg.Live {
		return t.w.Flush()
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

// segment prints one segment's line and its payload, in segment mode.
func (r *runner) segment(c *conn, ci gopacket.CaptureInfo) {
	d, t := r.dec, r.tap
	tcp := &d.tcp
	dir, other := c2s, s2c
	if d.src != c.client {
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
	b := ci.Timestamp.In(r.loc).AppendFormat(r.line[:0], "15:04:05.000000")
	b = append(b, ' ')
	b = d.src.AppendTo(b)
	b = append(b, " → "...)
	b = d.dst.AppendTo(b)
	b = append(b, " ["...)
	b = appendFlags(b, tcp)
	b = append(b, "] seq "...)
	rel := tcp.Seq - h.isn
	b = strconv.AppendUint(b, uint64(rel), 10)
	if len(payload) > 0 {
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(rel+uint32(len(payload))), 10)
	}
	if tcp.ACK {
		b = append(b, " ack "...)
		ack := tcp.Ack
		if o.haveISN {
			ack -= o.isn
		}
		b = strconv.AppendUint(b, uint64(ack), 10)
	}
	b = append(b, " len "...)
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, '\n')
	r.line = b
	col := t.pal.c2s
	if dir == s2c {
		col = t.pal.s2c
	}
	if t.pal.on {
		t.w.WriteString(col.Sprint(string(b[:len(b)-1])) + "\n")
	} else {
		t.w.Write(b)
	}
	if len(payload) > 0 && !c.overflow {
		if !h.haveNext {
			h.next, h.haveNext = tcp.Seq, true
		}
		diff := int32(tcp.Seq - h.next)
		switch {
		case diff > 0:
			t.gap(c, dir, int(diff))
		case diff < 0 && int32(tcp.Seq+uint32(len(payload))-h.next) <= 0:
			t.rawUnit(c, dir, payload, "old data again (retransmission or out of order), not dissected: ")
			payload = nil
		case diff < 0:
			payload = payload[-diff:]
		}
		if len(payload) > 0 {
			t.feed(c, dir, payload)
			h.next = tcp.Seq + uint32(len(tcp.Payload))
		}
	}
	if tcp.FIN && h.haveNext {
		h.next++
	}
}

// appendFlags writes TCP flags in tcpdump's letters and order.
func appendFlags(b []byte, tcp *layers.TCP) []byte {
	for _, f := range []struct {
		on bool
		c  byte
	}{{tcp.FIN, 'F'}, {tcp.SYN, 'S'}, {tcp.RST, 'R'}, {tcp.PSH, 'P'}, {tcp.ACK, '.'}, {tcp.URG, 'U'}, {tcp.ECE, 'E'}, {tcp.CWR, 'W'}} {
		if f.on {
			b = append(b, f.c)
		}
	}
	return b
}
