package filter

import "golang.org/x/net/bpf"

// next is the jump target "the following instruction".
const next = -1

// firstFreeLabel is above the fixed labels of Instructions.
const firstFreeLabel = 16

// asm builds a BPF program with symbolic jump targets. Programs here are
// a few dozen instructions, so every skip fits in the 8 bits classic BPF
// allows.
type asm struct {
	ins    []bpf.Instruction
	jumps  []pendingJump
	labels map[int]int
	nlabel int
}

type pendingJump struct {
	at          int
	cond        bpf.JumpTest
	val         uint32
	onTrue, els int
}

func (a *asm) emit(i bpf.Instruction) { a.ins = append(a.ins, i) }

// jump emits a conditional jump to label onTrue or els (next: fall through).
// A jump with both targets equal is an unconditional one.
func (a *asm) jump(cond bpf.JumpTest, val uint32, onTrue, els int) {
	a.jumps = append(a.jumps, pendingJump{at: len(a.ins), cond: cond, val: val, onTrue: onTrue, els: els})
	a.ins = append(a.ins, nil)
}

func (a *asm) mark(label int) {
	if a.labels == nil {
		a.labels = map[int]int{}
	}
	a.labels[label] = len(a.ins)
}

func (a *asm) newLabel() int {
	a.nlabel++
	return firstFreeLabel + a.nlabel
}

func (a *asm) resolve() []bpf.Instruction {
	skip := func(j pendingJump, label int) int {
		if label == next {
			return 0
		}
		return a.labels[label] - j.at - 1
	}
	for _, j := range a.jumps {
		t, f := skip(j, j.onTrue), skip(j, j.els)
		if j.onTrue == j.els {
			a.ins[j.at] = bpf.Jump{Skip: uint32(t)}
			continue
		}
		if t > 255 || f > 255 {
			panic("filter: BPF jump too long") // programs are far shorter
		}
		a.ins[j.at] = bpf.JumpIf{Cond: j.cond, Val: j.val, SkipTrue: uint8(t), SkipFalse: uint8(f)}
	}
	return a.ins
}
