package filter

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// Snaplen is what a program keeps of each accepted packet: tcpdump's
// default and largest snap length, more than the largest loopback frame
// (64 KiB MTU).
const Snaplen = 262144

// maxInstructions is the kernel's limit on a classic BPF program
// (BPF_MAXINSNS).
const maxInstructions = 4096

// packetOutgoing is the kernel's PACKET_OUTGOING packet type. On a
// loopback device an AF_PACKET socket sees every packet twice, once as it
// leaves and once as it arrives; dropping the outgoing copy prints each
// packet once, as tcpdump does.
const packetOutgoing = 4

// IPv4, IPv6 and TCP offsets from the start of the IP header.
const (
	v4Proto    = 9
	v4Frag     = 6
	v4Src      = 12
	v4Dst      = 16
	v6Next     = 6
	v6Src      = 8
	v6Dst      = 24
	v6TCP      = 40
	protoTCP   = 6
	v4FragMask = 0x1fff
	etherIPv4  = 0x0800
	etherIPv6  = 0x86dd
)

// ErrLinkType is returned for a link type the compiler has no framing for.
var ErrLinkType = errors.New("filter: no program for this link type")

// Instructions compiles f for frames of the given link type, before
// assembly: the program x/net/bpf's VM runs on packets read from a file.
// The program accepts (returning Snaplen) the TCP segments over IPv4 (not
// a later fragment) or IPv6 that f matches, and rejects (0) all else.
func (f *Filter) Instructions(link layers.LinkType) ([]bpf.Instruction, error) {
	var a asm
	reject, v4, v6 := a.newLabel(), a.newLabel(), a.newLabel()
	l3, err := a.framing(link, v4, v6, reject)
	if err != nil {
		return nil, err
	}
	var root node
	if f != nil {
		root = f.root
	}
	for _, ip := range []struct {
		label int
		six   bool
	}{{v4, false}, {v6, true}} {
		accept := a.newLabel()
		a.mark(ip.label)
		c := &ctx{a: &a, six: ip.six, l3: l3}
		if ip.six {
			a.emit(bpf.LoadAbsolute{Off: l3 + v6Next, Size: 1})
			a.jumpIf(bpf.JumpEqual, protoTCP, a.here(), reject)
		} else {
			a.emit(bpf.LoadAbsolute{Off: l3 + v4Proto, Size: 1})
			a.jumpIf(bpf.JumpEqual, protoTCP, a.here(), reject)
			a.emit(bpf.LoadAbsolute{Off: l3 + v4Frag, Size: 2})
			a.jumpIf(bpf.JumpBitsSet, v4FragMask, reject, a.here())
			a.emit(bpf.LoadMemShift{Off: l3})
		}
		c.gen(root, accept, reject)
		a.mark(accept)
		a.emit(bpf.RetConstant{Val: Snaplen})
	}
	a.mark(reject)
	a.emit(bpf.RetConstant{Val: 0})
	prog := a.resolve()
	if len(prog) > maxInstructions {
		return nil, fmt.Errorf("%w: the filter compiles to %d instructions, more than the kernel's %d", ErrUnsupported, len(prog), maxInstructions)
	}
	return prog, nil
}

// here returns a label marked at the next instruction: a jump's "fall
// through".
func (a *asm) here() int {
	l := a.newLabel()
	a.labels[l] = len(a.items) + 1
	return l
}

// framing emits the test of a frame's link-layer header, jumping to v4 or
// v6 by the network protocol it carries, and returns where the IP header
// starts.
func (a *asm) framing(link layers.LinkType, v4, v6, reject int) (uint32, error) {
	byType := func(off, l3 uint32) uint32 {
		a.emit(bpf.LoadAbsolute{Off: off, Size: 2})
		a.jumpIf(bpf.JumpEqual, etherIPv4, v4, a.here())
		a.jumpIf(bpf.JumpEqual, etherIPv6, v6, reject)
		return l3
	}
	version := func(want uint32, to int) uint32 {
		a.emit(bpf.LoadAbsolute{Off: 0, Size: 1})
		a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0})
		a.jumpIf(bpf.JumpEqual, want, to, reject)
		return 0
	}
	switch link {
	case layers.LinkTypeEthernet:
		return byType(12, 14), nil
	case layers.LinkTypeLinuxSLL:
		return byType(14, 16), nil
	case layers.LinkTypeLinuxSLL2:
		return byType(0, 20), nil
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		// The family is in the writer's byte order: test both.
		// AF_INET is 2; AF_INET6 is 10 on Linux, 24 on the BSDs, 28 on
		// FreeBSD and 30 on Darwin (the values gopacket decodes).
		a.emit(bpf.LoadAbsolute{Off: 0, Size: 4})
		a.jumpIf(bpf.JumpEqual, 2, v4, a.here())
		a.jumpIf(bpf.JumpEqual, 2<<24, v4, a.here())
		for _, fam := range [...]uint32{10, 24, 28, 30} {
			a.jumpIf(bpf.JumpEqual, fam, v6, a.here())
			a.jumpIf(bpf.JumpEqual, fam<<24, v6, a.here())
		}
		a.goTo(reject)
		return 4, nil
	case layers.LinkTypeRaw, 12: // 12: DLT_RAW's number on Linux
		a.emit(bpf.LoadAbsolute{Off: 0, Size: 1})
		a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0})
		a.jumpIf(bpf.JumpEqual, 0x40, v4, a.here())
		a.jumpIf(bpf.JumpEqual, 0x60, v6, reject)
		return 0, nil
	case layers.LinkTypeIPv4:
		return version(0x40, v4), nil
	case layers.LinkTypeIPv6:
		return version(0x60, v6), nil
	}
	return 0, fmt.Errorf("%w (%d)", ErrLinkType, link)
}

// Program compiles f for a live capture on an AF_PACKET socket, whose
// frames start with an Ethernet header on both Ethernet and loopback
// devices. With dropOutgoing set (for loopback), the kernel's outgoing
// copies are dropped first; the rest is the program Instructions gives
// for Ethernet, the one a file of Ethernet frames is read with.
func (f *Filter) Program(dropOutgoing bool) ([]bpf.RawInstruction, error) {
	return f.ProgramFor(layers.LinkTypeEthernet, dropOutgoing)
}

// ProgramFor is Program for a socket whose frames are of type link.
func (f *Filter) ProgramFor(link layers.LinkType, dropOutgoing bool) ([]bpf.RawInstruction, error) {
	prog, err := f.Instructions(link)
	if err != nil {
		return nil, err
	}
	if dropOutgoing {
		// Three instructions ahead of a program whose jumps are all
		// relative: it runs unchanged after them.
		prog = append([]bpf.Instruction{
			bpf.LoadExtension{Num: bpf.ExtType},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: packetOutgoing, SkipFalse: 1},
			bpf.RetConstant{Val: 0},
		}, prog...)
		if len(prog) > maxInstructions {
			return nil, fmt.Errorf("%w: the filter compiles to %d instructions, more than the kernel's %d", ErrUnsupported, len(prog), maxInstructions)
		}
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("filter: %w", err)
	}
	return raw, nil
}

// ctx generates code for one IP version: the IP header at l3 and, for
// IPv4, the IP header length in X.
type ctx struct {
	a   *asm
	six bool
	l3  uint32
}

// gen emits code that jumps to t if n matches and to f if not; a nil n
// always matches.
func (c *ctx) gen(n node, t, f int) {
	a := c.a
	switch n := n.(type) {
	case nil:
		a.goTo(t)
	case andNode:
		mid := a.newLabel()
		c.gen(n.l, mid, f)
		a.mark(mid)
		c.gen(n.r, t, f)
	case orNode:
		mid := a.newLabel()
		c.gen(n.l, t, mid)
		a.mark(mid)
		c.gen(n.r, t, f)
	case notNode:
		c.gen(n.x, f, t)
	case protoNode:
		if n.v == Any || (n.v == V6) == c.six {
			a.goTo(t)
		} else {
			a.goTo(f)
		}
	case hostNode:
		if n.net.Addr().Is6() != c.six {
			a.goTo(f)
			return
		}
		src, dst := uint32(v4Src), uint32(v4Dst)
		if c.six {
			src, dst = v6Src, v6Dst
		}
		c.either(n.dir, t, f,
			func(t, f int) { c.prefix(c.l3+src, n.net, t, f) },
			func(t, f int) { c.prefix(c.l3+dst, n.net, t, f) })
	case portNode:
		c.either(n.dir, t, f,
			func(t, f int) { c.portIn(0, n.lo, n.hi, t, f) },
			func(t, f int) { c.portIn(2, n.lo, n.hi, t, f) })
	}
}

// either combines a test of the source and one of the destination as dir
// asks.
func (c *ctx) either(dir Dir, t, f int, src, dst func(t, f int)) {
	a := c.a
	switch dir {
	case Src:
		src(t, f)
	case Dst:
		dst(t, f)
	case Either:
		mid := a.newLabel()
		src(t, mid)
		a.mark(mid)
		dst(t, f)
	case SrcAndD:
		mid := a.newLabel()
		src(mid, f)
		a.mark(mid)
		dst(t, f)
	}
}

// prefix tests the address at off against p, 32 bits at a time.
func (c *ctx) prefix(off uint32, p netip.Prefix, t, f int) {
	a := c.a
	b := p.Addr().AsSlice()
	left := p.Bits()
	if left == 0 {
		a.goTo(t)
		return
	}
	for i := 0; left > 0; i += 4 {
		word := uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
		a.emit(bpf.LoadAbsolute{Off: off + uint32(i), Size: 4})
		if left < 32 {
			mask := ^uint32(0) << (32 - left)
			a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask})
			word &= mask
		}
		left -= 32
		next := t
		if left > 0 {
			next = a.here()
		}
		a.jumpIf(bpf.JumpEqual, word, next, f)
	}
}

// portIn tests whether the TCP port at off (0: source, 2: destination) of
// the TCP header lies in [lo, hi].
func (c *ctx) portIn(off uint32, lo, hi uint16, t, f int) {
	a := c.a
	if c.six {
		a.emit(bpf.LoadAbsolute{Off: c.l3 + v6TCP + off, Size: 2})
	} else {
		a.emit(bpf.LoadIndirect{Off: c.l3 + off, Size: 2})
	}
	if lo == hi {
		a.jumpIf(bpf.JumpEqual, uint32(lo), t, f)
		return
	}
	a.jumpIf(bpf.JumpGreaterOrEqual, uint32(lo), a.here(), f)
	a.jumpIf(bpf.JumpGreaterThan, uint32(hi), f, t)
}
