package filter

import (
	"bufio"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

func readFilters(t testing.TB) []string {
	t.Helper()
	f, err := os.Open("testdata/filters.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	for _, line := range readFilters(t) {
		f, err := Parse(strings.Fields(line))
		if err != nil {
			t.Fatalf("Parse(%q): %v", line, err)
		}
		if got := f.String(); got != line {
			t.Errorf("Parse(%q).String() = %q", line, got)
		}
		one, err := Parse([]string{line})
		if err != nil || one.String() != line {
			t.Errorf("Parse of one quoted argument %q = %v, %v", line, one, err)
		}
	}
}

func TestAccepted(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "",
		"tcp port 9000":                 "port 9000", // sniff shows TCP only
		"PORT 9000 && HOST 127.0.0.1":   "port 9000 and host 127.0.0.1",
		"port 9000 || port 9001":        "port 9000 or port 9001",
		"port 9000 or 9001 or 9002":     "port 9000 or port 9001 or port 9002",
		"!port 22":                      "not port 22",
		"!(port 1||port 2)":             "not (port 1 or port 2)",
		"(port 1 or port 2) and port 3": "port 1 or port 2 and port 3",
		"port 1 or (port 2 and port 3)": "port 1 or (port 2 and port 3)",
		"src or dst port 9000":          "port 9000",
		"dst and src port 9000":         "src and dst port 9000",
		"tcp src port 9000":             "src port 9000",
		"ip6 host ::1":                  "host ::1", // the address says which IP
		"ip src host 127.0.0.1":         "src host 127.0.0.1",
		"host ::1 or 127.0.0.1":         "host ::1 or host 127.0.0.1",
		"127.0.0.1":                     "host 127.0.0.1",
		"10.0.0.0/8":                    "net 10.0.0.0/8",
		"net 10":                        "net 10.0.0.0/8",
		"net 192.168":                   "net 192.168.0.0/16",
		"net 10.0.0.0 mask 255.255.0.0": "net 10.0.0.0/16",
		"portrange 9010-9000":           "portrange 9000-9010",
		"host ::ffff:127.0.0.1":         "host ::ffff:127.0.0.1",
	} {
		f, err := Parse([]string{in})
		if err != nil || f.String() != want {
			t.Errorf("Parse(%q) = %v, %v; want %q", in, f, err, want)
		}
	}
}

// TestEveryPrefix checks that every prefix of a filter either parses to
// something that reads back the same, or is refused with a syntax error,
// never anything else.
func TestEveryPrefix(t *testing.T) {
	for _, line := range readFilters(t) {
		words := strings.Fields(line)
		for n := 1; n < len(words); n++ {
			f, err := Parse(words[:n])
			if err != nil {
				if !errors.Is(err, ErrSyntax) {
					t.Errorf("prefix %q: %v, want a syntax error", words[:n], err)
				}
				continue
			}
			again, err := Parse([]string{f.String()})
			if err != nil || again.String() != f.String() {
				t.Errorf("prefix %q parsed as %q, which reads back as %v, %v", words[:n], f, again, err)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		in   string
		want error
		says string
	}{
		{"port", ErrSyntax, `at the end of the filter: "port" wants a port number`},
		{"port 9x0", ErrSyntax, `port "9x0" is not a number`},
		{"port 70000", ErrSyntax, "from 0 to 65535"},
		{"port ssh", ErrUnsupported, "port names are not looked up"},
		{"host", ErrSyntax, `"host" wants an IP address`},
		{"host example.com", ErrUnsupported, "host names are not looked up"},
		{"host fe80::1%lo", ErrSyntax, "is not an IP address"},
		{"host 10.0.0.0/8", ErrSyntax, `write "net 10.0.0.0/8"`},
		{"net 10.0.0.1/8", ErrSyntax, "did you mean 10.0.0.0/8"},
		{"and port 1", ErrSyntax, `at word 1, "and": "and" must join two conditions`},
		{"port 1 and", ErrSyntax, `"and" must join two conditions; nothing follows it`},
		{"port 1 or or port 2", ErrSyntax, `at word 4, "or"`},
		{"port 1 port 2", ErrSyntax, `at word 3, "port": expected "and", "or"`},
		{"(port 1", ErrSyntax, `expected ")"`},
		{"port 1)", ErrSyntax, `a ")" with no "("`},
		{"()", ErrSyntax, `expected a condition before ")"`},
		{"not", ErrSyntax, "expected a condition"},
		{"src", ErrSyntax, `"src" wants host, net, port or portrange`},
		{"portrange 9000", ErrSyntax, "is not a range"},
		{"port 1-2", ErrSyntax, `write "portrange 1-2"`},
		{"ip port 80", ErrSyntax, `"ip" cannot qualify port`},
		{"tcp host ::1", ErrSyntax, `"tcp" cannot qualify host`},
		{"ip host ::1", ErrSyntax, "not an IPv4 (ip) address"},
		{"ip6 net 10.0.0.0/8", ErrSyntax, "not an IPv6 (ip6) address"},
		{"foo", ErrSyntax, "unknown word; expected a condition: tcp, ip, ip6"},
		{"udp", ErrUnsupported, `"udp": sniff shows TCP only`},
		{"port 53 and not udp", ErrUnsupported, `at word 5, "udp"`},
		{"udp port 53", ErrUnsupported, "sniff shows TCP only"},
		{"ether host 00:11:22:33:44:55", ErrUnsupported, "IP addresses and TCP ports only"},
		{"vlan", ErrUnsupported, "IP addresses and TCP ports only"},
		{"less 100", ErrUnsupported, `"less" is tcpdump's, but sniff does not support it`},
		{"tcp[13] & 2 != 0", ErrUnsupported, "byte expressions"},
		{strings.Repeat("not ", 100) + "tcp", ErrUnsupported, "nested"},
		{strings.Repeat("port 1 or ", 500) + "port 1", ErrUnsupported, "a filter of more than"},
	} {
		_, err := Parse([]string{c.in})
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Parse(%q) error = %v\n\twant %v saying %q", c.in, err, c.want, c.says)
		}
	}
}

// packet describes a test frame.
type packet struct {
	src, dst     netip.Addr
	sport, dport uint16
	proto        byte
	frag         bool
}

// ip builds the IP packet: IPv4 with 4 bytes of options (to test the
// header length), or IPv6, and 20 bytes of TCP or UDP header.
func (p packet) ip() []byte {
	var l4 [20]byte
	binary.BigEndian.PutUint16(l4[0:], p.sport)
	binary.BigEndian.PutUint16(l4[2:], p.dport)
	var b []byte
	if p.src.Is4() {
		b = make([]byte, 24)
		b[0] = 0x46
		b[9] = p.proto
		if p.frag {
			b[7] = 8
		}
		s, d := p.src.As4(), p.dst.As4()
		copy(b[12:], s[:])
		copy(b[16:], d[:])
	} else {
		b = make([]byte, 40)
		b[0] = 0x60
		b[6] = p.proto
		s, d := p.src.As16(), p.dst.As16()
		copy(b[8:], s[:])
		copy(b[24:], d[:])
	}
	return append(b, l4[:]...)
}

// frame wraps the IP packet in link's framing.
func (p packet) frame(link layers.LinkType, r *rand.Rand) []byte {
	ip := p.ip()
	v6 := p.src.Is6()
	et := uint16(0x0800)
	if v6 {
		et = 0x86dd
	}
	switch link {
	case layers.LinkTypeEthernet:
		h := make([]byte, 14)
		binary.BigEndian.PutUint16(h[12:], et)
		return append(h, ip...)
	case layers.LinkTypeLinuxSLL:
		h := make([]byte, 16)
		binary.BigEndian.PutUint16(h[14:], et)
		return append(h, ip...)
	case layers.LinkTypeLinuxSLL2:
		h := make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], et)
		return append(h, ip...)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		fam := uint32(2)
		if v6 {
			fam = [...]uint32{10, 24, 28, 30}[r.IntN(4)]
		}
		h := make([]byte, 4)
		if r.IntN(2) == 0 {
			binary.LittleEndian.PutUint32(h, fam)
		} else {
			binary.BigEndian.PutUint32(h, fam)
		}
		return append(h, ip...)
	}
	return ip
}

// oracle evaluates the parsed filter on the packet's fields directly, as
// tcpdump's documentation defines each primitive.
func oracle(n node, p packet) bool {
	either := func(d Dir, s, t bool) bool {
		switch d {
		case Src:
			return s
		case Dst:
			return t
		case SrcAndD:
			return s && t
		}
		return s || t
	}
	switch n := n.(type) {
	case nil:
		return true
	case andNode:
		return oracle(n.l, p) && oracle(n.r, p)
	case orNode:
		return oracle(n.l, p) || oracle(n.r, p)
	case notNode:
		return !oracle(n.x, p)
	case protoNode:
		return n.v == Any || (n.v == V6) == p.src.Is6()
	case hostNode:
		return either(n.dir, n.net.Contains(p.src), n.net.Contains(p.dst))
	case portNode:
		in := func(v uint16) bool { return n.lo <= v && v <= n.hi }
		return either(n.dir, in(p.sport), in(p.dport))
	}
	panic("unknown node")
}

var testLinks = []layers.LinkType{
	layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2, layers.LinkTypeNull,
	layers.LinkTypeLoop, layers.LinkTypeRaw, 12, layers.LinkTypeIPv4, layers.LinkTypeIPv6,
}

// TestProgramMatchesOracle runs each filter's compiled program in
// x/net/bpf's VM, for every link type, and checks it agrees with the
// filter's meaning on random packets.
func TestProgramMatchesOracle(t *testing.T) {
	addrs := []netip.Addr{
		netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.0.2"),
		netip.MustParseAddr("::1"), netip.MustParseAddr("2001:db8::2"),
	}
	ports := []uint16{9000, 1234, 40000, 22, 9005}
	r := rand.New(rand.NewPCG(1, 2))
	for _, line := range append(readFilters(t), "") {
		f, err := Parse([]string{line})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Program(true); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		m := f.Matcher()
		for _, link := range testLinks {
			for i := 0; i < 500; i++ {
				v6 := r.IntN(2) * 2
				if link == layers.LinkTypeIPv4 {
					v6 = 0
				} else if link == layers.LinkTypeIPv6 {
					v6 = 2
				}
				p := packet{src: addrs[v6+r.IntN(2)], dst: addrs[v6+r.IntN(2)],
					sport: ports[r.IntN(len(ports))], dport: ports[r.IntN(len(ports))], proto: 6}
				if r.IntN(8) == 0 {
					p.proto = 17
				}
				p.frag = p.src.Is4() && r.IntN(8) == 0
				got, err := m.Match(link, p.frame(link, r))
				if err != nil {
					t.Fatal(err)
				}
				want := p.proto == 6 && !p.frag && oracle(f.root, p)
				if got != want {
					t.Fatalf("%q on link %d, %+v: program %v, meaning %v", line, link, p, got, want)
				}
			}
		}
	}
}

// TestLongProgram checks the jumps that must reach past 255
// instructions.
func TestLongProgram(t *testing.T) {
	var b strings.Builder
	b.WriteString("port 9000")
	for i := 0; i < 100; i++ {
		b.WriteString(" or net 2001:db8::/32")
	}
	b.WriteString(" or port 9001")
	f, err := Parse([]string{b.String()})
	if err != nil {
		t.Fatal(err)
	}
	prog, err := f.Instructions(layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) < 2*maxSkip {
		t.Fatalf("program of %d instructions is too short to test long jumps", len(prog))
	}
	m := f.Matcher()
	for port, want := range map[uint16]bool{9001: true, 9000: true, 1234: false} {
		p := packet{src: netip.MustParseAddr("127.0.0.1"), dst: netip.MustParseAddr("127.0.0.1"), sport: port, dport: 50000, proto: 6}
		if got, _ := m.Match(layers.LinkTypeEthernet, p.frame(layers.LinkTypeEthernet, nil)); got != want {
			t.Errorf("port %d: %v, want %v", port, got, want)
		}
	}
	if _, err := f.Program(true); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownLinkType(t *testing.T) {
	f, _ := Parse(nil)
	if _, err := f.Matcher().Match(105, []byte{1, 2, 3}); !errors.Is(err, ErrLinkType) {
		t.Fatalf("error %v, want ErrLinkType", err)
	}
}

func FuzzFilter(f *testing.F) {
	for _, line := range readFilters(f) {
		f.Add(line)
	}
	f.Add("tcp and src port 1 && dst host ::1")
	f.Add("(port 1 or 2) and !(src net 10 mask 255.0.0.0)")
	frame4 := packet{src: netip.MustParseAddr("127.0.0.1"), dst: netip.MustParseAddr("127.0.0.1"), sport: 1, dport: 2, proto: 6}
	frame6 := packet{src: netip.MustParseAddr("::1"), dst: netip.MustParseAddr("2001:db8::2"), sport: 9000, dport: 2, proto: 6}
	f.Fuzz(func(t *testing.T, line string) {
		flt, err := Parse([]string{line})
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("%q: %v is neither a syntax error nor unsupported", line, err)
			}
			return
		}
		again, err := Parse([]string{flt.String()})
		if err != nil || again.String() != flt.String() {
			t.Fatalf("%q → %q → %v, %v", line, flt, again, err)
		}
		if _, err := flt.Program(true); err != nil {
			if errors.Is(err, ErrUnsupported) {
				return
			}
			t.Fatal(err)
		}
		m := flt.Matcher()
		for _, link := range testLinks {
			for _, frame := range []packet{frame4, frame6} {
				if link == layers.LinkTypeIPv4 && frame.src.Is6() || link == layers.LinkTypeIPv6 && frame.src.Is4() {
					continue
				}
				got, err := m.Match(link, frame.frame(link, rand.New(rand.NewPCG(1, 1))))
				if err != nil {
					t.Fatal(err)
				}
				if want := oracle(flt.root, frame); got != want {
					t.Fatalf("%q on link %d, %+v: program %v, meaning %v", line, link, frame, got, want)
				}
			}
		}
	})
}

// TestVMKnowsTheProgram makes sure the VM accepts what the kernel gets,
// less the packet-type test it has no extension for.
func TestVMKnowsTheProgram(t *testing.T) {
	f, _ := Parse([]string{"port 9000"})
	prog, _ := f.Instructions(layers.LinkTypeEthernet)
	if _, err := bpf.NewVM(prog); err != nil {
		t.Fatal(err)
	}
}
