package sniff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"chatlab/sniff/dump"
)

// Pipeline limits. The backlog is what the display may fall behind the
// capture before it skips packets (live) or the reading waits (files).
const (
	// DefaultBacklog is how many packets may wait for the display: at
	// chat bench's 7,000 packets a second, a seventh of a second of
	// printing that a terminal may stall for without a skip.
	DefaultBacklog = 1024
	// DefaultBacklogBytes bounds the waiting packets' bytes, so a backlog
	// of 64 KiB loopback packets stays at 16 MiB, not 64.
	DefaultBacklogBytes = 16 << 20
	// spareBuffers is how many shown packets' buffers are kept for the
	// reader to copy into: enough to cover the display's pace most of
	// the time, at most 4 MiB of 64 KiB loopback packets.
	spareBuffers = 64
)

// ShowFunc is the display's per-packet function, called in Pipe's
// goroutine in capture order. data is valid only during the call. With
// PipeConfig.Annotate, the comment it returns is attached to the packet
// in the pcapng file; otherwise it is ignored. An error ends Pipe.
type ShowFunc func(data []byte, ci gopacket.CaptureInfo) (comment string, err error)

// PipeConfig says where Pipe's packets go.
type PipeConfig struct {
	// Link is the source's link type, as packets are written to Dump.
	Link layers.LinkType
	// Dump, if set, receives every kept packet.
	Dump *dump.Writer
	// Keep, if set, decides in the reading goroutine which packets are
	// kept (written, counted and shown); nil keeps them all. A live
	// capture's kernel filter has already chosen, so it needs none.
	Keep func(data []byte, ci gopacket.CaptureInfo) bool
	// Count stops the capture after this many kept packets; zero means
	// no limit.
	Count int
	// Show is the display; nil shows nothing (tcpdump -w without -r's
	// printing, sniff -q), and the packets are only written.
	Show ShowFunc
	// Skipped, if set, is told in Pipe's goroutine, in capture order,
	// that the display fell behind and n packets were not shown here.
	// It is called before the next packet shown, and once at the end for
	// the last ones skipped.
	Skipped func(n int)
	// Lossless makes the reading wait for the display instead of
	// skipping packets: for files, where nothing is lost by waiting.
	Lossless bool
	// Annotate writes each packet after Show, with the comment it
	// returns (pcapng -w). The display then skips packets whenever it
	// is more than half the backlog behind, writing them without a
	// comment, so the file keeps up with the capture; only a Show that
	// blocks for good (a paused terminal) holds the file back too.
	Annotate bool
	// FlushEach flushes Dump after every packet, as tcpdump -U does.
	// Without it the file is flushed whenever the source has nothing
	// more ready (a LiveSource says so), so a reader of the growing file
	// never waits for a packet already captured, and at the end.
	FlushEach bool
	// Backlog and BacklogBytes bound the packets waiting for Show; zero
	// means DefaultBacklog and DefaultBacklogBytes.
	Backlog      int
	BacklogBytes int
}

// PipeStats count what Pipe did with the packets it read.
type PipeStats struct {
	// Kept is how many packets were read and kept: all are in Dump.
	Kept uint64
	// Shown is how many of them were given to Show.
	Shown uint64
	// Skipped is how many kept packets the display skipped to keep up.
	Skipped uint64
}

// readier is a source that can tell whether a read would wait.
type readier interface{ Ready() bool }

// queued is a packet waiting for the display.
type queued struct {
	data    []byte
	ci      gopacket.CaptureInfo
	skipped int // packets skipped just before this one
}

// pipe is the state of one Pipe.
type pipe struct {
	cfg   PipeConfig
	src   gopacket.PacketDataSource
	ready readier
	queue chan queued
	// gone is closed when the display has stopped taking packets.
	gone chan struct{}
	// freed wakes a reader waiting for room in the backlog.
	freed chan struct{}
	// spare holds the buffers of packets the display is done with, so
	// the reader copies into them instead of allocating: a reader that
	// allocates at the capture's rate is slowed by the garbage collector
	// just when the display is busiest.
	spare chan []byte
	dirty bool // the reader has written since its last flush
	// mu guards bytes, the queued packets' size, and stats.
	mu    sync.Mutex
	bytes int
	stats PipeStats
}

// Pipe reads src until it ends, ctx is done or cfg.Count packets have
// been kept. In its own goroutine it reads each packet, writes it to
// cfg.Dump at once and queues a copy for cfg.Show, which runs in the
// caller's goroutine. A display that falls more than the backlog behind
// a live capture skips packets (and cfg.Skipped is told how many) rather
// than slow the reading, so the kernel's ring never fills because of
// printing and the file has every packet the kernel delivered.
func Pipe(ctx context.Context, src gopacket.PacketDataSource, cfg PipeConfig) (PipeStats, error) {
	if cfg.Backlog <= 0 {
		cfg.Backlog = DefaultBacklog
	}
	if cfg.BacklogBytes <= 0 {
		cfg.BacklogBytes = DefaultBacklogBytes
	}
	if cfg.Dump == nil {
		cfg.Annotate = false
	}
	p := &pipe{cfg: cfg, src: src, queue: make(chan queued, cfg.Backlog), gone: make(chan struct{}), freed: make(chan struct{}, 1), spare: make(chan []byte, spareBuffers)}
	p.ready, _ = src.(readier)
	readErr := make(chan error, 1)
	go func() { readErr <- p.read(ctx) }()
	err := p.display()
	close(p.gone)
	for range p.queue { // the display failed: let the reader finish
	}
	if rerr := <-readErr; err == nil {
		err = rerr
	}
	if p.cfg.Dump != nil {
		if ferr := p.cfg.Dump.Flush(); err == nil && ferr != nil {
			err = fmt.Errorf("sniff: write -w file: %w", ferr)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats, err
}

// drainer is a source that, once its context is done, still returns what
// it had captured, then io.EOF.
type drainer interface{ Drains() }

// read is the reading goroutine: it takes packets off src, keeps,
// writes and queues them, and closes the queue when it stops.
func (p *pipe) read(ctx context.Context) error {
	defer close(p.queue)
	zc, _ := p.src.(gopacket.ZeroCopyPacketDataSource)
	skipped := 0
	kept := 0
	// A source that ends by itself once ctx is done (a LiveSource, which
	// first drains what the kernel already captured) is read to its end.
	_, drains := p.src.(drainer)
	for (drains || ctx.Err() == nil) && (p.cfg.Count <= 0 || kept < p.cfg.Count) {
		var data []byte
		var ci gopacket.CaptureInfo
		var err error
		if zc != nil {
			data, ci, err = zc.ZeroCopyReadPacketData()
		} else {
			data, ci, err = p.src.ReadPacketData()
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("sniff: read packets: %w", err)
		}
		if p.cfg.Keep != nil && !p.cfg.Keep(data, ci) {
			if err := p.idleFlush(); err != nil {
				return err
			}
			continue
		}
		kept++
		ci.CaptureLength = len(data)
		p.mu.Lock()
		p.stats.Kept++
		p.mu.Unlock()
		if p.cfg.Dump != nil && !p.cfg.Annotate {
			if err := p.cfg.Dump.WritePacketAs(p.cfg.Link, ci, data, ""); err != nil {
				return fmt.Errorf("sniff: write -w file: %w", err)
			}
			p.dirty = true
			if err := p.idleFlush(); err != nil {
				return err
			}
		}
		if p.cfg.Show == nil && !p.cfg.Annotate {
			continue
		}
		if !p.room(len(data)) {
			skipped++
			continue
		}
		select {
		case p.queue <- queued{data: p.copy(data), ci: ci, skipped: skipped}:
			skipped = 0
		case <-p.gone:
			return nil
		}
	}
	if skipped > 0 {
		select {
		case p.queue <- queued{skipped: skipped}:
		case <-p.gone:
		}
	}
	return nil
}

// copy copies data into a spare buffer, or a new one.
func (p *pipe) copy(data []byte) []byte {
	var b []byte
	select {
	case b = <-p.spare:
	default:
	}
	return append(b[:0], data...)
}

// recycle hands a shown packet's buffer back to the reader.
func (p *pipe) recycle(b []byte) {
	select {
	case p.spare <- b:
	default:
	}
}

// idleFlush flushes what the reader wrote when the source has nothing
// more ready, or after every packet with FlushEach.
func (p *pipe) idleFlush() error {
	if !p.dirty || !(p.cfg.FlushEach || (p.ready != nil && !p.ready.Ready())) {
		return nil
	}
	p.dirty = false
	if err := p.cfg.Dump.Flush(); err != nil {
		return fmt.Errorf("sniff: write -w file: %w", err)
	}
	return nil
}

// room reserves the backlog's room for a packet of n bytes. A live
// capture without room skips the packet (false); a lossless or annotated
// one waits for the display to take some.
func (p *pipe) room(n int) bool {
	for {
		p.mu.Lock()
		fits := len(p.queue) < cap(p.queue) && (p.bytes == 0 || p.bytes+n <= p.cfg.BacklogBytes)
		if fits {
			p.bytes += n
		} else if !p.cfg.Lossless && !p.cfg.Annotate {
			p.stats.Skipped++
		}
		p.mu.Unlock()
		if fits {
			return true
		}
		if !p.cfg.Lossless && !p.cfg.Annotate {
			return false
		}
		select {
		case <-p.freed:
		case <-p.gone:
			return false
		}
	}
}

// display is the caller's side: it shows the queued packets in order
// and, when annotating, writes them. Once the reading has stopped (ctx
// done, the source at its end) it still shows the backlog, which the
// bound keeps short.
func (p *pipe) display() error {
	skipped := 0
	for q := range p.queue {
		p.mu.Lock()
		p.bytes -= len(q.data)
		p.mu.Unlock()
		select {
		case p.freed <- struct{}{}:
		default:
		}
		skipped += q.skipped
		if q.data == nil {
			continue
		}
		// Annotating, the display keeps the file up with the capture by
		// skipping packets while it is far behind.
		behind := p.cfg.Annotate && !p.cfg.Lossless && 2*len(p.queue) > cap(p.queue)
		var comment string
		if p.cfg.Show != nil && !behind {
			if skipped > 0 && p.cfg.Skipped != nil {
				p.cfg.Skipped(skipped)
			}
			skipped = 0
			var err error
			if comment, err = p.cfg.Show(q.data, q.ci); err != nil {
				return err
			}
			p.mu.Lock()
			p.stats.Shown++
			p.mu.Unlock()
		} else if p.cfg.Show != nil {
			skipped++
			p.mu.Lock()
			p.stats.Skipped++
			p.mu.Unlock()
		}
		if p.cfg.Annotate {
			if err := p.cfg.Dump.WritePacketAs(p.cfg.Link, q.ci, q.data, comment); err != nil {
				return fmt.Errorf("sniff: write -w file: %w", err)
			}
			if p.cfg.FlushEach || (p.ready != nil && len(p.queue) == 0) {
				if err := p.cfg.Dump.Flush(); err != nil {
					return fmt.Errorf("sniff: write -w file: %w", err)
				}
			}
		}
		p.recycle(q.data)
	}
	if skipped > 0 && p.cfg.Skipped != nil {
		p.cfg.Skipped(skipped)
	}
	return nil
}

// StatsReport is tcpdump's report at the end of a live capture, a line
// each: packets captured, received by filter, dropped by kernel; then,
// if the display skipped any, how many and that the file has them all.
func StatsReport(cs CaptureStats, ps PipeStats, wrote bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s captured\n", cs.Captured, packetWord(cs.Captured))
	fmt.Fprintf(&b, "%d %s received by filter\n", cs.Received, packetWord(cs.Received))
	fmt.Fprintf(&b, "%d %s dropped by kernel\n", cs.Dropped, packetWord(cs.Dropped))
	if ps.Skipped > 0 {
		where := ""
		if wrote {
			where = "; the -w file has them all"
		}
		fmt.Fprintf(&b, "%d %s not shown: the display fell behind%s\n", ps.Skipped, packetWord(ps.Skipped), where)
	}
	return b.String()
}

// SkipNotice is the line the display prints where it skipped n packets.
func SkipNotice(n int) string {
	return fmt.Sprintf("… display fell behind: %d %s not shown here\n", n, packetWord(uint64(n)))
}

func packetWord(n uint64) string {
	if n == 1 {
		return "packet"
	}
	return "packets"
}
