package filter

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// Snaplen is what the kernel program keeps of each accepted packet: all of
// it, up to the largest loopback frame (64 KiB MTU) with room to spare.
const Snaplen = 262144

// packetOutgoing is the kernel's PACKET_OUTGOING packet type. On a
// loopback device an AF_PACKET socket sees every packet twice, once as it
// leaves and once as it arrives; dropping the outgoing copy prints each
// packet once, as tcpdump does.
const packetOutgoing = 4

// Ethernet, IPv4, IPv6 and TCP offsets for a frame that starts with an
// Ethernet header, which is how Linux hands out both Ethernet and
// loopback frames.
const (
	offEtherType  = 12
	ethHeaderLen  = 14
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd
	offV4Proto    = ethHeaderLen + 9
	offV4Frag     = ethHeaderLen + 6
	offV4Src      = ethHeaderLen + 12
	offV4Dst      = ethHeaderLen + 16
	offV6Next     = ethHeaderLen + 6
	offV6Src      = ethHeaderLen + 8
	offV6Dst      = ethHeaderLen + 24
	offV6TCP      = ethHeaderLen + 40
	protoTCP      = 6
	v4FragMask    = 0x1fff
)

// Program compiles f for a socket whose frames start with an Ethernet
// header. With dropOutgoing set (for loopback), the kernel's outgoing
// copies are dropped first.
func (f *Filter) Program(dropOutgoing bool) ([]bpf.RawInstruction, error) {
	prog, err := bpf.Assemble(f.Instructions(dropOutgoing))
	if err != nil {
		return nil, fmt.Errorf("filter: %w", err)
	}
	return prog, nil
}

// Instructions is Program before assembly, so tests can run it in
// x/net/bpf's VM (which knows no packet types: pass false there).
func (f *Filter) Instructions(dropOutgoing bool) []bpf.Instruction {
	var a asm
	const (
		reject = iota
		v4
		v6
	)
	if dropOutgoing {
		a.emit(bpf.LoadExtension{Num: bpf.ExtType})
		a.jump(bpf.JumpEqual, packetOutgoing, reject, next)
	}
	a.emit(bpf.LoadAbsolute{Off: offEtherType, Size: 2})
	a.jump(bpf.JumpEqual, etherTypeIPv4, v4, next)
	a.jump(bpf.JumpEqual, etherTypeIPv6, v6, reject)

	a.mark(v4)
	a.emit(bpf.LoadAbsolute{Off: offV4Proto, Size: 1})
	a.jump(bpf.JumpNotEqual, protoTCP, reject, next)
	a.emit(bpf.LoadAbsolute{Off: offV4Frag, Size: 2})
	a.jump(bpf.JumpBitsSet, v4FragMask, reject, next)
	a.emit(bpf.LoadMemShift{Off: ethHeaderLen})
	for _, t := range f.Terms {
		a.v4Term(t, reject)
	}
	a.emit(bpf.RetConstant{Val: Snaplen})

	a.mark(v6)
	a.emit(bpf.LoadAbsolute{Off: offV6Next, Size: 1})
	a.jump(bpf.JumpNotEqual, protoTCP, reject, next)
	for _, t := range f.Terms {
		a.v6Term(t, reject)
	}
	a.emit(bpf.RetConstant{Val: Snaplen})

	a.mark(reject)
	a.emit(bpf.RetConstant{Val: 0})
	return a.resolve()
}

// v4Term checks one term; the TCP header offset is in X.
func (a *asm) v4Term(t Term, reject int) {
	if t.Host.IsValid() {
		if !t.Host.Is4() {
			a.jump(bpf.JumpEqual, 0, reject, reject)
			return
		}
		b := t.Host.As4()
		val := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		a.either(t.Dir, reject,
			[]bpf.Instruction{bpf.LoadAbsolute{Off: offV4Src, Size: 4}}, []uint32{val},
			[]bpf.Instruction{bpf.LoadAbsolute{Off: offV4Dst, Size: 4}}, []uint32{val})
		return
	}
	a.either(t.Dir, reject,
		[]bpf.Instruction{bpf.LoadIndirect{Off: ethHeaderLen, Size: 2}}, []uint32{uint32(t.Port)},
		[]bpf.Instruction{bpf.LoadIndirect{Off: ethHeaderLen + 2, Size: 2}}, []uint32{uint32(t.Port)})
}

func (a *asm) v6Term(t Term, reject int) {
	if t.Host.IsValid() {
		if !t.Host.Is6() {
			a.jump(bpf.JumpEqual, 0, reject, reject)
			return
		}
		b := t.Host.As16()
		var words []uint32
		var src, dst []bpf.Instruction
		for i := 0; i < 16; i += 4 {
			words = append(words, uint32(b[i])<<24|uint32(b[i+1])<<16|uint32(b[i+2])<<8|uint32(b[i+3]))
			src = append(src, bpf.LoadAbsolute{Off: uint32(offV6Src + i), Size: 4})
			dst = append(dst, bpf.LoadAbsolute{Off: uint32(offV6Dst + i), Size: 4})
		}
		a.either(t.Dir, reject, src, words, dst, words)
		return
	}
	a.either(t.Dir, reject,
		[]bpf.Instruction{bpf.LoadAbsolute{Off: offV6TCP, Size: 2}}, []uint32{uint32(t.Port)},
		[]bpf.Instruction{bpf.LoadAbsolute{Off: offV6TCP + 2, Size: 2}}, []uint32{uint32(t.Port)})
}

// either emits "all src loads equal their values" for Src, the same for
// dst with Dst, and "src matches or dst matches" for Either.
func (a *asm) either(d Dir, reject int, src []bpf.Instruction, sv []uint32, dst []bpf.Instruction, dv []uint32) {
	pass := a.newLabel()
	tryDst := a.newLabel()
	if d != Dst {
		fail := reject
		if d == Either {
			fail = tryDst
		}
		for i, ld := range src {
			a.emit(ld)
			a.jump(bpf.JumpNotEqual, sv[i], fail, next)
		}
		if d == Either {
			a.jump(bpf.JumpEqual, 0, pass, pass)
		}
	}
	a.mark(tryDst)
	if d != Src {
		for i, ld := range dst {
			a.emit(ld)
			a.jump(bpf.JumpNotEqual, dv[i], reject, next)
		}
	}
	a.mark(pass)
}
