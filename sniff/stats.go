package sniff

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// barWidth is the width of the small bar graphs in the summary.
const barWidth = 16

// entropy is the Shannon entropy of a byte histogram in bits per byte:
// near 8 for ciphertext, about 4 to 5 for English text.
func entropy(hist *[256]uint64) float64 {
	if hist == nil {
		return 0
	}
	var total uint64
	for _, n := range hist {
		total += n
	}
	if total == 0 {
		return 0
	}
	h := 0.0
	for _, n := range hist {
		if n > 0 {
			p := float64(n) / float64(total)
			h -= p * math.Log2(p)
		}
	}
	return h
}

// bar draws share (0 to 1) as a bar of barWidth cells.
func bar(share float64) string {
	full := int(math.Round(share * barWidth))
	full = min(max(full, 0), barWidth)
	return strings.Repeat("█", full) + strings.Repeat("░", barWidth-full)
}

// printStats writes the per-connection table and the plain-versus-secure
// comparison.
func (t *Tap) printStats() {
	w := t.w
	t.pal.paint(w, t.pal.label, "== statistics ==")
	w.WriteByte('\n')
	fmt.Fprintf(w, "%-3s %-44s %-15s %7s %9s  %-22s %s\n", "#", "client → server", "recognised as", "packets", "bytes", "entropy (bits/byte)", "printable")
	type sum struct {
		conns, packets, bytes, printable int
		hist                             [256]uint64
	}
	var byProto [ProtoOther + 1]sum
	row := func(id, name, proto string, s ConnStats) {
		fmt.Fprintf(w, "%-3s %-44s %-15s %7d %9d  %4.2f %s  %3.0f%% %s\n", id, name, proto,
			s.Packets, s.Bytes, s.Entropy, bar(s.Entropy/8), 100*s.Printable, bar(s.Printable))
	}
	for _, c := range t.order {
		row(strconv.Itoa(c.id), c.client.String()+" → "+c.server.String(), c.proto.String(), c.stats())
		p := &byProto[c.proto]
		p.conns++
		p.packets += c.packets
		p.bytes += c.bytes
		p.printable += c.printable
		if c.hist != nil {
			for i, n := range c.hist {
				p.hist[i] += n
			}
		}
	}
	if t.overflow != nil {
		row("-", "other connections, beyond the first "+strconv.Itoa(maxConns), "not dissected", t.overflow.stats())
	}
	w.WriteByte('\n')
	t.pal.paint(w, t.pal.label, "plain and secure side by side")
	w.WriteByte('\n')
	// Only the kinds seen: a row of zeros compares nothing.
	for _, proto := range []Proto{ProtoPlain, ProtoSecure, ProtoLegacy, ProtoOther} {
		p := &byProto[proto]
		if p.conns == 0 {
			continue
		}
		e := entropy(&p.hist)
		pr := 0.0
		if p.bytes > 0 {
			pr = float64(p.printable) / float64(p.bytes)
		}
		fmt.Fprintf(w, "  %-15s %3d %-5s %7d %-7s %9d %-5s  entropy %4.2f %s  printable %3.0f%% %s\n",
			proto, p.conns, noun(p.conns, "conn"), p.packets, noun(p.packets, "packet"), p.bytes, noun(p.bytes, "byte"),
			e, bar(e/8), 100*pr, bar(pr))
	}
	plain, secure := byProto[ProtoPlain].conns > 0, byProto[ProtoSecure].conns > 0
	switch {
	case plain && !secure:
		w.WriteString("  only plain traffic was seen: run a secure chat too to compare\n")
	case secure && !plain:
		w.WriteString("  only secure traffic was seen: run a plain chat too to compare\n")
	case !plain && !secure:
		w.WriteString("  no chatlab plain or secure traffic was seen: run one chat of each to compare\n")
	}
}
