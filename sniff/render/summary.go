package render

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"chatlab/sniff/event"
)

// barWidth is the width of the small bar graphs in the summary.
const barWidth = 8

// MinSample is the fewest bytes whose entropy says something: n random
// bytes show at most log2(n) bits per byte, and even 1 KiB of them only
// about 7.8. Below it the summary says the figure rests on too little.
const MinSample = 1 << 10

// bar draws share (0 to 1) as a bar of barWidth cells.
func bar(share float64) string {
	full := int(math.Round(share * barWidth))
	full = min(max(full, 0), barWidth)
	return strings.Repeat("█", full) + strings.Repeat("░", barWidth-full)
}

// summary writes the per-connection table, the plain-versus-secure
// comparison and, for a live capture, what the kernel counted.
func (t *Text) summary(s *event.Summary) {
	w := t.w
	t.pal.paint(w, t.pal.label, "== statistics ==")
	w.WriteByte('\n')
	fmt.Fprintf(w, "%-3s %-32s %-14s %7s %8s  %-13s  %s\n", "#", "client → server", "recognised as",
		"packets", "bytes", "entropy", "printable")
	row := func(id, name string, c *event.ConnStats) {
		fmt.Fprintf(w, "%-3s %-32s %-14s %7d %8d  %4.2f %s  %3.0f%% %s\n", id, cut(name, 32), c.Proto,
			c.Packets, c.Bytes, c.Entropy, bar(c.Entropy/8), 100*c.Printable, bar(c.Printable))
	}
	type sum struct {
		conns, packets, bytes int
		hist                  [256]uint64
		sample                []byte
	}
	var byProto [event.ProtoOther + 1]sum
	for i := range s.Conns {
		c := &s.Conns[i]
		row(strconv.Itoa(c.ID), c.Client.String()+" → "+c.Server.String(), c)
		p := &byProto[c.Proto]
		p.conns++
		p.packets += c.Packets
		p.bytes += c.Bytes
		if c.Hist != nil {
			for i, n := range c.Hist {
				p.hist[i] += n
			}
		}
		if n := event.MaxSample - len(p.sample); n > 0 {
			p.sample = append(p.sample, c.Sample[:min(n, len(c.Sample))]...)
		}
	}
	if s.Overflow != nil {
		o := *s.Overflow
		o.Proto = event.ProtoOther
		row("-", "others, beyond the first "+strconv.Itoa(len(s.Conns)), &o)
	}
	w.WriteByte('\n')
	t.pal.paint(w, t.pal.label, "plain and secure side by side")
	w.WriteByte('\n')
	// Only the kinds seen: a row of zeros compares nothing.
	var few []string
	for _, proto := range []event.Proto{event.ProtoPlain, event.ProtoSecure, event.ProtoLegacy, event.ProtoOther} {
		p := &byProto[proto]
		if p.conns == 0 {
			continue
		}
		e, pr := event.Entropy(&p.hist), event.Printable(&p.hist)
		fmt.Fprintf(w, "  %-14s %2d %-5s %5d %-7s %7d %-5s entropy %4.2f %s  printable %3.0f%% %s\n",
			proto, p.conns, noun(p.conns, "conn"), p.packets, noun(p.packets, "packet"), p.bytes, noun(p.bytes, "byte"),
			e, bar(e/8), 100*pr, bar(pr))
		if p.bytes < MinSample {
			few = append(few, fmt.Sprintf("%s rests on only %s: even %d random bytes show only about %.2f bits "+
				"per byte, not 8", proto, plural(p.bytes, "byte"), p.bytes, event.RandomEntropy(p.bytes)))
		}
	}
	plain, secure := &byProto[event.ProtoPlain], &byProto[event.ProtoSecure]
	switch {
	case plain.conns > 0 && secure.conns == 0:
		w.WriteString("  only plain traffic was seen: run a secure chat too to compare\n")
	case secure.conns > 0 && plain.conns == 0:
		w.WriteString("  only secure traffic was seen: run a plain chat too to compare\n")
	case plain.conns == 0 && secure.conns == 0:
		w.WriteString("  no chatlab plain or secure traffic was seen: run one chat of each to compare\n")
	default:
		// The same number of bytes of each, so that neither figure is
		// held down by a small sample.
		n := min(len(plain.sample), len(secure.sample))
		if n > 0 {
			fmt.Fprintf(w, "  over the first %s of each: plain %.2f, secure %.2f bits per byte\n",
				plural(n, "byte"), entropyOf(plain.sample[:n]), entropyOf(secure.sample[:n]))
		}
	}
	for _, f := range few {
		for i, s := range wrap("note: "+f+".", Width-2, Width, 4) {
			if i == 0 {
				w.WriteString("  " + s + "\n")
			} else {
				w.WriteString("    " + s + "\n")
			}
		}
	}
}

// entropyOf is the entropy of b in bits per byte.
func entropyOf(b []byte) float64 {
	var h [256]uint64
	for _, c := range b {
		h[c]++
	}
	return event.Entropy(&h)
}

// noun is word for one of it, else word with an "s".
func noun(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
