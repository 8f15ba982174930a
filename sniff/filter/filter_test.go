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
		"":                            "",
		"tcp":                         "",
		"tcp port 9000":               "port 9000",
		"tcp and port 9000":           "port 9000",
		"PORT 9000 && HOST 127.0.0.1": "port 9000 and host 127.0.0.1",
		"host ::ffff:127.0.0.1":       "host 127.0.0.1",
	} {
		f, err := Parse(strings.Fields(in))
		if err != nil || f.String() != want {
			t.Errorf("Parse(%q) = %v, %v; want %q", in, f, err, want)
		}
	}
}

func TestEveryPrefixRejected(t *testing.T) {
	for _, line := range readFilters(t) {
		words := strings.Fields(line)
		for n := 1; n < len(words); n++ {
			prefix := words[:n]
			f, err := Parse(prefix)
			// A prefix that stops at a term boundary is itself a filter.
			if err == nil && f.String() == strings.Join(prefix, " ") {
				continue
			}
			if err == nil {
				t.Errorf("prefix %q parsed as %q", prefix, f)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	for _, in := range []string{
		"udp", "port", "port x", "port 70000", "host", "host example.com",
		"port 1 or port 2", "not port 1", "and port 1", "port 1 and", "port 1 port 2",
		"src", "src udp 1", "host fe80::1%lo",
	} {
		_, err := Parse(strings.Fields(in))
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) error = %v, want ErrSyntax", in, err)
		}
	}
	_, err := Parse([]string{"udp"})
	if err == nil || !strings.Contains(err.Error(), `unknown word "udp"`) {
		t.Errorf("unknown word error = %v", err)
	}
}

// segment builds an Ethernet frame holding a TCP (or, with proto 17, a
// UDP) header between the given ends.
func segment(src, dst netip.Addr, sport, dport uint16, proto byte, frag bool) []byte {
	b := make([]byte, 14, 100)
	var l4 [20]byte
	binary.BigEndian.PutUint16(l4[0:], sport)
	binary.BigEndian.PutUint16(l4[2:], dport)
	if src.Is4() {
		binary.BigEndian.PutUint16(b[12:], etherTypeIPv4)
		ip := make([]byte, 24) // with 4 bytes of options, to test the IHL shift
		ip[0] = 0x46
		ip[9] = proto
		if frag {
			ip[7] = 8
		}
		s, d := src.As4(), dst.As4()
		copy(ip[12:], s[:])
		copy(ip[16:], d[:])
		b = append(b, ip...)
	} else {
		binary.BigEndian.PutUint16(b[12:], etherTypeIPv6)
		ip := make([]byte, 40)
		ip[0] = 0x60
		ip[6] = proto
		s, d := src.As16(), dst.As16()
		copy(ip[8:], s[:])
		copy(ip[24:], d[:])
		b = append(b, ip...)
	}
	return append(b, l4[:]...)
}

// TestProgramMatchesGo runs the compiled program in x/net/bpf's VM and
// checks it agrees with Match on random segments.
func TestProgramMatchesGo(t *testing.T) {
	addrs := []netip.Addr{
		netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.0.2"),
		netip.MustParseAddr("::1"), netip.MustParseAddr("2001:db8::2"),
	}
	ports := []uint16{9000, 1234, 40000}
	r := rand.New(rand.NewPCG(1, 2))
	for _, line := range append(readFilters(t), "") {
		f, _ := Parse(strings.Fields(line))
		vm, err := bpf.NewVM(f.Instructions(false))
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if _, err := f.Program(true); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		for i := 0; i < 2000; i++ {
			v6 := r.IntN(2) * 2
			src, dst := addrs[v6+r.IntN(2)], addrs[v6+r.IntN(2)]
			sp, dp := ports[r.IntN(3)], ports[r.IntN(3)]
			proto := byte(protoTCP)
			if r.IntN(8) == 0 {
				proto = 17
			}
			frag := src.Is4() && r.IntN(8) == 0
			n, err := vm.Run(segment(src, dst, sp, dp, proto, frag))
			if err != nil {
				t.Fatal(err)
			}
			want := proto == protoTCP && !frag && f.Match(src, dst, sp, dp)
			if (n > 0) != want {
				t.Fatalf("%q on %v:%d > %v:%d proto %d frag %v: kernel %d, Go %v", line, src, sp, dst, dp, proto, frag, n, want)
			}
		}
	}
}

func FuzzFilter(f *testing.F) {
	for _, line := range readFilters(f) {
		f.Add(line)
	}
	f.Add("tcp and src port 1 && dst host ::1")
	f.Fuzz(func(t *testing.T, line string) {
		flt, err := Parse([]string{line})
		if err != nil {
			return
		}
		again, err := Parse([]string{flt.String()})
		if err != nil || again.String() != flt.String() {
			t.Fatalf("%q → %q → %v, %v", line, flt, again, err)
		}
		if _, err := flt.Program(true); err != nil {
			t.Fatal(err)
		}
	})
}
