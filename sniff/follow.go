package sniff

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"
)

// captureContext hands a packet's capture info to the reassembler.
type captureContext gopacket.CaptureInfo

func (c captureContext) GetCaptureInfo() gopacket.CaptureInfo { return gopacket.CaptureInfo(c) }

// streamFactory makes one stream per TCP connection for Follow. The
// reassembler calls it (and the streams) from inside Run's packet
// handler, which holds the Tap's lock.
type streamFactory struct{ r *runner }

func (f *streamFactory) New(_, _ gopacket.Flow, tcp *layers.TCP, _ reassembly.AssemblerContext) reassembly.Stream {
	d := f.r.dec
	c := f.r.tap.conn(orient(d.src, d.dst, tcp))
	return &stream{tap: f.r.tap, c: c, firstIsClient: d.src == c.ev.Client}
}

// stream feeds one reassembled connection to the Tap.
type stream struct {
	tap           *Tap
	c             *conn
	firstIsClient bool // the reassembler's "client" is whoever sent first
}

// Accept takes every segment and lets a stream start without its SYN, so
// a capture begun mid-conversation is still shown.
func (s *stream) Accept(_ *layers.TCP, _ gopacket.CaptureInfo, _ reassembly.TCPFlowDirection, _ reassembly.Sequence, start *bool, _ reassembly.AssemblerContext) bool {
	*start = true
	return true
}

func (s *stream) ReassembledSG(sg reassembly.ScatterGather, _ reassembly.AssemblerContext) {
	rdir, _, _, skip := sg.Info()
	n, _ := sg.Lengths()
	dir := c2s
	if (rdir == reassembly.TCPDirClientToServer) != s.firstIsClient {
		dir = s2c
	}
	if skip > 0 {
		s.tap.gap(s.c, dir, skip)
	}
	if n > 0 {
		s.tap.feed(s.c, dir, sg.Fetch(n))
	}
}

// ReassemblyComplete lets the reassembler forget the connection after its
// FIN or RST.
func (s *stream) ReassemblyComplete(_ reassembly.AssemblerContext) bool { return true }
