package filter

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// Matcher runs a filter's program in x/net/bpf's VM, the program the
// kernel runs for a live capture, one per link type as packets of each
// arrive. It is not safe for concurrent use.
type Matcher struct {
	f   *Filter
	vms map[layers.LinkType]*bpf.VM
}

// Matcher returns a Matcher for f (nil: every TCP segment).
func (f *Filter) Matcher() *Matcher {
	return &Matcher{f: f, vms: map[layers.LinkType]*bpf.VM{}}
}

// Match reports whether the captured frame data, of type link, passes
// the filter. A link type with no program is an error.
func (m *Matcher) Match(link layers.LinkType, data []byte) (bool, error) {
	vm := m.vms[link]
	if vm == nil {
		prog, err := m.f.Instructions(link)
		if err != nil {
			return false, err
		}
		if vm, err = bpf.NewVM(prog); err != nil {
			return false, fmt.Errorf("filter: %w", err)
		}
		m.vms[link] = vm
	}
	n, err := vm.Run(data)
	if err != nil {
		return false, fmt.Errorf("filter: %w", err)
	}
	return n > 0, nil
}
