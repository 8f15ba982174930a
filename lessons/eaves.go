package lessons

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"chatlab/sniff"
	"chatlab/sniff/event"
)

// drainTimeout bounds how long the capture waits, after the chat ended,
// for the last packets (the FINs) to come through. On loopback they come
// within a millisecond or two; on a loaded machine (tests under the race
// detector, two cores) the capture goroutine can be starved for seconds,
// and waiting longer costs nothing when they come at once.
const drainTimeout = 10 * time.Second

// eavesConfig says what the eavesdropper prints.
type eavesConfig struct {
	// quiet keeps the sniffer's dissection off the screen; the recording
	// is still made.
	quiet bool
	// out, if set, receives the sniffer's report instead of the lesson's
	// output.
	out   io.Writer
	stats bool
	key   *rsa.PrivateKey
	cribs []string
	// dump receives a pcap of the capture (live capture only).
	dump io.Writer
}

// eavesdropper watches the lesson's traffic with the real sniffer: live
// capture on loopback, or a relay tap feeding a sniff.Tap.
type eavesdropper struct {
	capture bool
	rec     *recording
	tap     *sniff.Tap

	// ctx is the lesson's: once it is done, nobody waits for a drain.
	ctx    context.Context
	mu     sync.Mutex
	ports  map[uint16]bool
	cancel context.CancelFunc
	done   chan captureResult
}

type captureResult struct {
	stats []event.ConnStats
	err   error
}

// eavesdrop starts an eavesdropper. In capture mode nothing is seen until
// watchPort names a server port.
func (e *Env) eavesdrop(ctx context.Context, cfg eavesConfig) (*eavesdropper, error) {
	capture, err := e.capturing()
	if err != nil {
		return nil, err
	}
	out := e.sniffOut()
	switch {
	case cfg.out != nil && e.sniffCopy != nil:
		out = io.MultiWriter(cfg.out, e.sniffCopy)
	case cfg.out != nil:
		out = cfg.out
	case cfg.quiet:
		out = io.Discard
	}
	scfg := sniff.Config{Out: out, Color: e.Color, Follow: true, Key: cfg.key, Cribs: cfg.cribs, Stats: cfg.stats,
		Live: true, LineBuffered: true, Dumps: e.dumps}
	if e.web != nil {
		scfg.Sink = e.web
	}
	ev := &eavesdropper{capture: capture, rec: &recording{}, ports: map[uint16]bool{}, ctx: ctx}
	if !capture {
		ev.tap = sniff.NewTap(scfg)
		return ev, nil
	}
	scfg.Dump = cfg.dump
	cctx, cancel := context.WithCancel(ctx)
	src, link, err := sniff.OpenLive(cctx, captureIface, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("lessons: start capture: %w", err)
	}
	ev.cancel = cancel
	ev.done = make(chan captureResult, 1)
	ws := &watchedSource{src: src, link: link, ev: ev, next: map[flowKey]uint32{}}
	go func() {
		stats, err := sniff.Run(cctx, ws, link, scfg)
		ev.done <- captureResult{stats, err}
	}()
	return ev, nil
}

// Data feeds the relay tap's bytes to the recording and the sniffer.
func (ev *eavesdropper) Data(client, server netip.AddrPort, fromClient bool, payload []byte) {
	ev.rec.Data(client, server, fromClient, payload)
	if ev.tap != nil {
		ev.tap.Data(client, server, fromClient, payload)
	}
}

// watchPort makes a live capture look at connections to a server port.
func (ev *eavesdropper) watchPort(p uint16) {
	ev.mu.Lock()
	ev.ports[p] = true
	ev.mu.Unlock()
}

func (ev *eavesdropper) watched(p uint16) bool {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return ev.ports[p]
}

// stop ends the watch once everything has gone by, lets the sniffer print
// its conclusions (IV reuse recovery, statistics) and returns its numbers.
// If the capture did not see every connection end within drainTimeout, it
// still stops, and says what is missing: the recording a step checks its
// claim on would be short.
func (ev *eavesdropper) stop() ([]event.ConnStats, error) {
	if ev.tap != nil {
		stats := ev.tap.Stats()
		return stats, ev.tap.Close()
	}
	drained := ev.rec.waitFinished(ev.ctx, drainTimeout)
	ev.cancel()
	r := <-ev.done
	return r.stats, errors.Join(drained, r.err)
}

// finish stops ev and returns err, or the error of stopping if err is nil:
// a step's own failure says more than an incomplete capture after it.
func (ev *eavesdropper) finish(err error) error {
	if _, serr := ev.stop(); err == nil {
		return serr
	}
	return err
}

// flowKey is one direction of a TCP connection.
type flowKey struct{ src, dst netip.AddrPort }

// watchedSource passes the sniffer only the packets of watched ports, and
// records their payloads in order, dropping retransmitted bytes.
type watchedSource struct {
	src  gopacket.PacketDataSource
	link layers.LinkType
	ev   *eavesdropper
	next map[flowKey]uint32
}

func (w *watchedSource) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	for {
		data, ci, err := w.src.ReadPacketData()
		if err != nil {
			return data, ci, err
		}
		if w.observe(data) {
			return data, ci, nil
		}
	}
}

// observe records a packet of a watched port and says whether it was one.
func (w *watchedSource) observe(data []byte) bool {
	p := gopacket.NewPacket(data, w.link, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if tcp == nil || p.NetworkLayer() == nil {
		return false
	}
	nf := p.NetworkLayer().NetworkFlow()
	srcIP, ok1 := netip.AddrFromSlice(nf.Src().Raw())
	dstIP, ok2 := netip.AddrFromSlice(nf.Dst().Raw())
	if !ok1 || !ok2 {
		return false
	}
	src := netip.AddrPortFrom(srcIP.Unmap(), uint16(tcp.SrcPort))
	dst := netip.AddrPortFrom(dstIP.Unmap(), uint16(tcp.DstPort))
	fromClient := w.ev.watched(dst.Port())
	if !fromClient && !w.ev.watched(src.Port()) {
		return false
	}
	client, server := src, dst
	if !fromClient {
		client, server = dst, src
	}
	k := flowKey{src, dst}
	next, known := w.next[k]
	payload := tcp.Payload
	switch {
	case tcp.SYN:
		w.next[k] = tcp.Seq + 1
	case len(payload) > 0 && known && int32(tcp.Seq-next) < 0:
		// A retransmission of bytes already recorded.
	case len(payload) > 0:
		w.ev.rec.Data(client, server, fromClient, payload)
		w.next[k] = tcp.Seq + uint32(len(payload))
	}
	if tcp.FIN {
		w.ev.rec.end(client, server, fromClient)
	}
	if tcp.RST {
		w.ev.rec.end(client, server, true)
		w.ev.rec.end(client, server, false)
	}
	return true
}
