// Package filter parses the small tcpdump-like capture filter that sniff
// accepts ("port 9000", "src host 127.0.0.1 and dst port 1234"), matches
// it against decoded packets (for files read with -r), and compiles it to
// a classic BPF program for the kernel (for live capture), so only the
// packets asked for are ever copied to user space.
package filter

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Dir says which end of a packet a term looks at.
type Dir uint8

// Directions. Either is what tcpdump means by "port 9000" with no
// qualifier: the source or the destination.
const (
	Either Dir = iota
	Src
	Dst
)

// Term is one condition: a port or a host, at one end or either.
type Term struct {
	Dir  Dir
	Port uint16     // set for a port term
	Host netip.Addr // valid for a host term
}

// Filter is the conjunction of its terms. Every filter matches TCP only,
// because TCP is all sniff shows; an empty filter matches every TCP
// segment.
type Filter struct {
	Terms []Term
}

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("filter: syntax error")

// known lists the words Parse understands, for its error messages.
const known = "port N, host ADDR, src, dst, tcp, and"

// Parse reads filter words as they come from the command line. Words may
// also arrive as one quoted argument ("port 9000 and host ::1").
func Parse(args []string) (*Filter, error) {
	var words []string
	for _, a := range args {
		words = append(words, strings.Fields(a)...)
	}
	f := &Filter{}
	needTerm := false // after "and"
	for i := 0; i < len(words); {
		w := strings.ToLower(words[i])
		switch w {
		case "tcp":
			i++
			needTerm = false
			continue
		case "and", "&&":
			if i == 0 || needTerm {
				return nil, fmt.Errorf("%w: %q must join two conditions", ErrSyntax, words[i])
			}
			needTerm = true
			i++
			continue
		}
		if len(f.Terms) > 0 && !needTerm && i > 0 && strings.ToLower(words[i-1]) != "tcp" {
			return nil, fmt.Errorf("%w: put \"and\" before %q", ErrSyntax, words[i])
		}
		t := Term{}
		switch w {
		case "src":
			t.Dir = Src
			i++
		case "dst":
			t.Dir = Dst
			i++
		}
		if i >= len(words) {
			return nil, fmt.Errorf("%w: %q wants \"port N\" or \"host ADDR\" after it", ErrSyntax, words[i-1])
		}
		kind := strings.ToLower(words[i])
		if kind != "port" && kind != "host" {
			return nil, fmt.Errorf("%w: unknown word %q (this filter knows %s)", ErrSyntax, words[i], known)
		}
		if i+1 >= len(words) {
			return nil, fmt.Errorf("%w: %q wants a value after it", ErrSyntax, kind)
		}
		val := words[i+1]
		if kind == "port" {
			n, err := strconv.ParseUint(val, 10, 16)
			if err != nil {
				return nil, fmt.Errorf("%w: port %q is not a number from 0 to 65535", ErrSyntax, val)
			}
			t.Port = uint16(n)
		} else {
			a, err := netip.ParseAddr(val)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%w: host %q is not an IP address (names are not looked up)", ErrSyntax, val)
			}
			t.Host = a.Unmap()
		}
		f.Terms = append(f.Terms, t)
		needTerm = false
		i += 2
	}
	if needTerm {
		return nil, fmt.Errorf("%w: the filter ends with \"and\"", ErrSyntax)
	}
	return f, nil
}

// String returns the filter in the canonical form that Parse reads back.
func (f *Filter) String() string {
	var b strings.Builder
	for i, t := range f.Terms {
		if i > 0 {
			b.WriteString(" and ")
		}
		b.WriteString(t.String())
	}
	return b.String()
}

// String returns the term as Parse reads it.
func (t Term) String() string {
	s := ""
	switch t.Dir {
	case Src:
		s = "src "
	case Dst:
		s = "dst "
	}
	if t.Host.IsValid() {
		return s + "host " + t.Host.String()
	}
	return s + "port " + strconv.Itoa(int(t.Port))
}

// Match reports whether a TCP segment between these ends passes.
func (f *Filter) Match(src, dst netip.Addr, sport, dport uint16) bool {
	src, dst = src.Unmap(), dst.Unmap()
	for _, t := range f.Terms {
		var s, d bool
		if t.Host.IsValid() {
			s, d = src == t.Host, dst == t.Host
		} else {
			s, d = sport == t.Port, dport == t.Port
		}
		ok := (t.Dir != Dst && s) || (t.Dir != Src && d)
		if !ok {
			return false
		}
	}
	return true
}
