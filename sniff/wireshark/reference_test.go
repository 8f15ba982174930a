package wireshark_test

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"chatlab/protocol"
	"chatlab/protocol/legacy"
)

// unit is one line, record, key or frame as a dissector should report
// it: the packet that completes it (where Wireshark shows a reassembled
// unit) and its fields by filter name, valued as tshark -T fields prints
// them.
type unit struct {
	frame  int
	fields map[string]string
}

// referenceUnits is the second opinion the Lua dissector is checked
// against: every unit of every connection in the capture, found by
// reassembling each direction and parsing it with chatlab's own protocol
// packages. It is the one place to change when sniff's dissector offers
// its units directly.
func referenceUnits(t *testing.T, path string) []unit {
	t.Helper()
	var out []unit
	for _, c := range reassemble(t, path) {
		out = append(out, c.units(t)...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].frame < out[j].frame })
	return out
}

// segmentEnd is where a packet's payload ends in its direction's stream.
type segmentEnd struct {
	frame int
	end   int
}

// half is one direction of a connection, reassembled.
type half struct {
	data []byte
	segs []segmentEnd
	next uint32
	seen bool
}

// frameAt is the packet holding the byte before off: the one whose
// arrival completes a unit ending at off.
func (h *half) frameAt(off int) int {
	for _, s := range h.segs {
		if s.end >= off {
			return s.frame
		}
	}
	return -1
}

type connection struct {
	client, server netip.AddrPort
	c2s, s2c       half
}

// reassemble reads a capture of in-order TCP connections and returns
// them in the order they opened. A gap or an overlap fails the test: the
// captures here have none, so the reference need not guess.
func reassemble(t *testing.T, path string) []*connection {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var conns []*connection
	byKey := map[[2]netip.AddrPort]*connection{}
	for frame := 1; ; frame++ {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		ipl, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ipl == nil || tcp == nil {
			continue
		}
		srcIP, _ := netip.AddrFromSlice(ipl.SrcIP)
		dstIP, _ := netip.AddrFromSlice(ipl.DstIP)
		src := netip.AddrPortFrom(srcIP, uint16(tcp.SrcPort))
		dst := netip.AddrPortFrom(dstIP, uint16(tcp.DstPort))
		c := byKey[[2]netip.AddrPort{src, dst}]
		fromClient := true
		if c == nil {
			if c = byKey[[2]netip.AddrPort{dst, src}]; c != nil {
				fromClient = false
			}
		}
		if c == nil {
			if !tcp.SYN || tcp.ACK {
				t.Fatalf("%s: frame %d: a connection without its SYN", path, frame)
			}
			c = &connection{client: src, server: dst}
			byKey[[2]netip.AddrPort{src, dst}] = c
			conns = append(conns, c)
		}
		h := &c.c2s
		if !fromClient {
			h = &c.s2c
		}
		if tcp.SYN {
			h.next, h.seen = tcp.Seq+1, true
			continue
		}
		if len(tcp.Payload) == 0 {
			continue
		}
		if !h.seen || tcp.Seq != h.next {
			t.Fatalf("%s: frame %d: seq %d, want %d: the reference handles in-order streams only", path, frame, tcp.Seq, h.next)
		}
		h.next += uint32(len(tcp.Payload))
		h.data = append(h.data, tcp.Payload...)
		h.segs = append(h.segs, segmentEnd{frame, len(h.data)})
	}
	return conns
}

func (c *connection) units(t *testing.T) []unit {
	switch {
	case bytes.HasPrefix(c.s2c.data, []byte("-----BEGIN")):
		return c.legacyUnits(t)
	case len(c.s2c.data) > 0 && protocol.RecordType(c.s2c.data[0]) == protocol.TypeHello:
		return c.secureUnits(t)
	default:
		return c.plainUnits(t)
	}
}

func hexs(b []byte) string { return hex.EncodeToString(b) }

func (c *connection) plainUnits(t *testing.T) []unit {
	var out []unit
	for dir, h := range []*half{&c.c2s, &c.s2c} {
		fromClient := dir == 0
		off := 0
		for n := 0; ; n++ {
			i := bytes.IndexByte(h.data[off:], '\n')
			if i < 0 {
				break
			}
			line := strings.TrimSuffix(string(h.data[off:off+i]), "\r")
			off += i + 1
			f := map[string]string{"chatlab.line": line}
			switch name, text, chat := strings.Cut(line, ": "); {
			case !fromClient && strings.HasPrefix(line, "* "):
				f["chatlab.kind"], f["chatlab.text"] = "notice", line[2:]
			case !fromClient && chat && protocol.ValidName(name) == nil:
				f["chatlab.kind"], f["chatlab.name"], f["chatlab.text"] = "chat", name, text
			case !fromClient:
				f["chatlab.kind"], f["chatlab.text"] = "line", line
			case n == 0:
				f["chatlab.kind"], f["chatlab.name"], f["chatlab.text"] = "name", line, line
			case strings.HasPrefix(line, "/"):
				f["chatlab.kind"], f["chatlab.text"] = "command", line
			default:
				f["chatlab.kind"], f["chatlab.text"] = "message", line
			}
			out = append(out, unit{h.frameAt(off), f})
		}
	}
	return out
}

// secureUnits parses both directions into records, numbers them in the
// order they complete, and derives each one's fields.
func (c *connection) secureUnits(t *testing.T) []unit {
	type rec struct {
		frame      int
		fromClient bool
		whole      []byte
	}
	var recs []rec
	for dir, h := range []*half{&c.c2s, &c.s2c} {
		rest := h.data
		for len(rest) > 0 {
			hdr, body, next, err := protocol.ParseRecord(rest)
			if err != nil {
				t.Fatalf("%v → %v: %v", c.client, c.server, err)
			}
			whole := rest[:protocol.RecordHeaderLen+int(hdr.Length)]
			end := len(h.data) - len(next)
			recs = append(recs, rec{h.frameAt(end), dir == 0, whole})
			rest = next
			_ = body
		}
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].frame < recs[j].frame })

	var out []unit
	var hello []byte
	var suite protocol.SuiteID
	counters := map[bool]uint64{}
	nonces := map[bool]map[string]int{true: {}, false: {}}
	for i, r := range recs {
		n := i + 1
		typ, body := protocol.RecordType(r.whole[0]), r.whole[protocol.RecordHeaderLen:]
		f := map[string]string{
			"chatlab.record": strconv.Itoa(n),
			"chatlab.type":   fmt.Sprintf("0x%02x", uint8(typ)),
			"chatlab.length": strconv.Itoa(len(body)),
		}
		switch typ {
		case protocol.TypeHello:
			h, err := protocol.ParseHello(body)
			if err != nil {
				t.Fatal(err)
			}
			hello, suite = r.whole, h.Suite
			f["chatlab.magic"] = protocol.Magic
			f["chatlab.version"] = strconv.Itoa(int(h.Version))
			f["chatlab.suite"] = fmt.Sprintf("0x%02x", uint8(h.Suite))
			f["chatlab.key_bits"] = strconv.Itoa(h.PublicKey.N.BitLen())
			f["chatlab.fingerprint"] = protocol.FingerprintDER(h.KeyDER)
		case protocol.TypeKeyExchange:
			f["chatlab.wrapped_key"] = hexs(body)
			f["chatlab.transcript"] = hexs(protocol.Transcript(hello, r.whole))
		case protocol.TypeData:
			// A weak suite sends no sequence number; both sides count.
			if suite.Weak() {
				f["chatlab.counter"] = strconv.FormatUint(counters[r.fromClient], 10)
			}
			counters[r.fromClient]++
			if suite == protocol.SuiteCBCNoMAC {
				f["chatlab.iv"], f["chatlab.ciphertext"] = hexs(body[:16]), hexs(body[16:])
				break
			}
			nonce := body[:protocol.NonceSize]
			f["chatlab.seq"] = strconv.FormatUint(binary.BigEndian.Uint64(nonce[4:]), 10)
			f["chatlab.nonce"] = hexs(nonce)
			f["chatlab.ciphertext"] = hexs(body[protocol.NonceSize : len(body)-protocol.TagSize])
			f["chatlab.tag"] = hexs(body[len(body)-protocol.TagSize:])
			if first, ok := nonces[r.fromClient][string(nonce)]; ok {
				f["chatlab.nonce_reused"] = strconv.Itoa(first)
				f["expert"] = fmt.Sprintf("Nonce reuse: same nonce as record %d under the same key", first)
			} else {
				nonces[r.fromClient][string(nonce)] = n
			}
		}
		out = append(out, unit{r.frame, f})
	}
	return out
}

// legacyUnits parses the original program's exchange: the PEM key, the
// wrapped key, then 268-byte frames both ways, numbered as they complete.
func (c *connection) legacyUnits(t *testing.T) []unit {
	var out []unit
	n := legacy.PEMLen(c.s2c.data)
	pub, err := legacy.ParsePublicKey(c.s2c.data[:n])
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, unit{c.s2c.frameAt(n), map[string]string{
		"chatlab_c.pem":         strings.ReplaceAll(string(c.s2c.data[:n]), "\n", `\n`),
		"chatlab_c.key_bits":    strconv.Itoa(pub.N.BitLen()),
		"chatlab_c.fingerprint": protocol.FingerprintDER(der),
	}})
	out = append(out, unit{c.c2s.frameAt(legacy.WrappedKeySize), map[string]string{
		"chatlab_c.wrapped_key": hexs(c.c2s.data[:legacy.WrappedKeySize]),
	}})
	type frame struct {
		at   int
		data []byte
	}
	var frames []frame
	for _, d := range []struct {
		h     *half
		start int
	}{{&c.c2s, legacy.WrappedKeySize}, {&c.s2c, n}} {
		for off := d.start; off+legacy.FrameSize <= len(d.h.data); off += legacy.FrameSize {
			frames = append(frames, frame{d.h.frameAt(off + legacy.FrameSize), d.h.data[off : off+legacy.FrameSize]})
		}
	}
	sort.SliceStable(frames, func(i, j int) bool { return frames[i].at < frames[j].at })
	firstUse := map[string]int{}
	for i, fr := range frames {
		iv, ct, err := legacy.SplitFrame(fr.data)
		if err != nil {
			t.Fatal(err)
		}
		f := map[string]string{
			"chatlab_c.frame":      strconv.Itoa(i + 1),
			"chatlab_c.iv":         hexs(iv),
			"chatlab_c.ciphertext": hexs(ct),
		}
		if first, ok := firstUse[string(iv)]; ok {
			f["chatlab_c.iv_reused"] = strconv.Itoa(first)
			f["expert"] = fmt.Sprintf("IV reuse: same IV as frame %d", first)
		} else {
			firstUse[string(iv)] = i + 1
		}
		out = append(out, unit{fr.at, f})
	}
	return out
}
