package filter

import "golang.org/x/net/bpf"

// asm builds a BPF program with symbolic, forward-only jump targets. A
// conditional jump in classic BPF skips at most 255 instructions; one
// that must go further is laid out as a short test over two
// unconditional jumps, which reach anywhere.
type asm struct {
	items  []item
	labels []int // label → index of the item it marks
}

// item is one instruction, or a jump whose targets are labels.
type item struct {
	ins    bpf.Instruction
	jump   bool
	cond   bpf.JumpTest
	val    uint32
	t, f   int  // labels
	always bool // unconditional, to t
	long   bool // laid out as three instructions
}

// maxSkip is the farthest a conditional jump reaches.
const maxSkip = 255

func (a *asm) emit(i bpf.Instruction) { a.items = append(a.items, item{ins: i}) }

// newLabel returns a label to jump to, marked later with mark.
func (a *asm) newLabel() int {
	a.labels = append(a.labels, -1)
	return len(a.labels) - 1
}

// mark places label l at the next instruction.
func (a *asm) mark(l int) { a.labels[l] = len(a.items) }

// jumpIf jumps to t if the test on A holds, else to f.
func (a *asm) jumpIf(cond bpf.JumpTest, val uint32, t, f int) {
	if t == f {
		a.goTo(t)
		return
	}
	a.items = append(a.items, item{jump: true, cond: cond, val: val, t: t, f: f})
}

// goTo jumps to l.
func (a *asm) goTo(l int) { a.items = append(a.items, item{jump: true, always: true, t: l}) }

// size is how many instructions an item takes.
func (it item) size() int {
	if it.long {
		return 3
	}
	return 1
}

// resolve lays the program out, lengthening the jumps that need it until
// every one reaches its target, and returns the instructions.
func (a *asm) resolve() []bpf.Instruction {
	pos := make([]int, len(a.items)+1)
	for changed := true; changed; {
		changed = false
		for i, it := range a.items {
			pos[i+1] = pos[i] + it.size()
		}
		for i := range a.items {
			it := &a.items[i]
			if !it.jump || it.always || it.long {
				continue
			}
			from := pos[i] + 1
			if pos[a.labels[it.t]]-from > maxSkip || pos[a.labels[it.f]]-from > maxSkip {
				it.long, changed = true, true
			}
		}
	}
	var out []bpf.Instruction
	for i, it := range a.items {
		switch {
		case !it.jump:
			out = append(out, it.ins)
		case it.always:
			out = append(out, bpf.Jump{Skip: uint32(pos[a.labels[it.t]] - pos[i] - 1)})
		case it.long:
			out = append(out,
				bpf.JumpIf{Cond: it.cond, Val: it.val, SkipTrue: 0, SkipFalse: 1},
				bpf.Jump{Skip: uint32(pos[a.labels[it.t]] - pos[i] - 2)},
				bpf.Jump{Skip: uint32(pos[a.labels[it.f]] - pos[i] - 3)})
		default:
			out = append(out, bpf.JumpIf{Cond: it.cond, Val: it.val,
				SkipTrue:  uint8(pos[a.labels[it.t]] - pos[i] - 1),
				SkipFalse: uint8(pos[a.labels[it.f]] - pos[i] - 1)})
		}
	}
	return out
}
