package dump

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// packet is one test packet with the link type it is written as.
type packet struct {
	link    layers.LinkType
	ci      gopacket.CaptureInfo
	data    []byte
	comment string
}

// testPackets are packets of growing size (every padding length), a
// packet cut short of its real length, and comments of every padding.
func testPackets(link layers.LinkType) []packet {
	base := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)
	var ps []packet
	for i := range 9 {
		data := bytes.Repeat([]byte{byte('a' + i)}, 60+i)
		ps = append(ps, packet{
			link:    link,
			ci:      gopacket.CaptureInfo{Timestamp: base.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(data), Length: len(data) + i%2*100},
			data:    data,
			comment: strings.Repeat("é", i%3) + strings.Repeat("x", i),
		})
	}
	return ps
}

func write(t *testing.T, opt Options, ps []packet) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := New(&buf, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if err := w.WritePacketAs(p.link, p.ci, p.data, p.comment); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPCAPRoundTrip(t *testing.T) {
	ps := testPackets(layers.LinkTypeEthernet)
	file := write(t, Options{Format: PCAP, LinkType: layers.LinkTypeEthernet}, ps)
	r, err := pcapgo.NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet || r.Snaplen() != DefaultSnaplen {
		t.Errorf("header: link %v snaplen %d", r.LinkType(), r.Snaplen())
	}
	for i, p := range ps {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !bytes.Equal(data, p.data) || ci.Length != p.ci.Length || !ci.Timestamp.Equal(p.ci.Timestamp.Truncate(time.Microsecond)) {
			t.Errorf("packet %d: got %d bytes of %d at %v, want %d of %d at %v", i, len(data), ci.Length, ci.Timestamp, len(p.data), p.ci.Length, p.ci.Timestamp)
		}
	}
	if _, _, err := r.ReadPacketData(); err != io.EOF {
		t.Errorf("after the last packet: %v, want io.EOF", err)
	}
}

// readNg reads a pcapng back with its comments and each packet's link type.
func readNg(t *testing.T, file []byte) []packet {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(file), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	var ps []packet
	for {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if err == io.EOF {
			return ps
		}
		if err != nil {
			t.Fatalf("packet %d: %v", len(ps), err)
		}
		p := packet{ci: ci, data: data, comment: strings.Join(opts.Comments, "|")}
		p.link, _ = ci.AncillaryData[0].(layers.LinkType)
		ps = append(ps, p)
	}
}

func TestPCAPNGRoundTripMixedLinkTypes(t *testing.T) {
	ps := testPackets(layers.LinkTypeEthernet)
	for i := range ps {
		if i%3 == 1 {
			ps[i].link = layers.LinkTypeLinuxSLL2
		}
		if i%3 == 2 {
			ps[i].link = layers.LinkTypeRaw
		}
	}
	file := write(t, Options{Format: PCAPNG, LinkType: layers.LinkTypeEthernet, Interface: "lo"}, ps)
	got := readNg(t, file)
	if len(got) != len(ps) {
		t.Fatalf("read %d packets, wrote %d", len(got), len(ps))
	}
	for i, p := range ps {
		g := got[i]
		if g.link != p.link || !bytes.Equal(g.data, p.data) || g.comment != p.comment || g.ci.Length != p.ci.Length || !g.ci.Timestamp.Equal(p.ci.Timestamp) {
			t.Errorf("packet %d: got %v %q %d bytes of %d at %v, want %v %q %d of %d at %v", i,
				g.link, g.comment, len(g.data), g.ci.Length, g.ci.Timestamp, p.link, p.comment, len(p.data), p.ci.Length, p.ci.Timestamp)
		}
	}
}

// TestValidAtEveryFlush: what a reader of a growing file sees after each
// flush is a whole file, every packet so far in it.
func TestValidAtEveryFlush(t *testing.T) {
	for _, f := range []Format{PCAP, PCAPNG} {
		var buf bytes.Buffer
		w, err := New(&buf, Options{Format: f, LinkType: layers.LinkTypeEthernet})
		if err != nil {
			t.Fatal(err)
		}
		ps := testPackets(layers.LinkTypeEthernet)
		for i := 0; ; i++ {
			n := count(t, f, buf.Bytes())
			if n != i {
				t.Errorf("format %d: %d packets written and flushed, %d read", f, i, n)
			}
			if i == len(ps) {
				break
			}
			w.WritePacketAs(ps[i].link, ps[i].ci, ps[i].data, ps[i].comment)
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// count reads a whole file and returns its packets, failing on any error.
func count(t *testing.T, f Format, file []byte) int {
	t.Helper()
	var src gopacket.PacketDataSource
	var err error
	if f == PCAP {
		src, err = pcapgo.NewReader(bytes.NewReader(file))
	} else {
		src, err = pcapgo.NewNgReader(bytes.NewReader(file), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	}
	if err != nil {
		t.Fatalf("header of %d bytes: %v", len(file), err)
	}
	n := 0
	for {
		_, _, err := src.ReadPacketData()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("after %d packets: %v", n, err)
		}
		n++
	}
}

func TestSnaplenCutsLongPackets(t *testing.T) {
	data := bytes.Repeat([]byte{7}, 300)
	file := write(t, Options{Format: PCAPNG, LinkType: layers.LinkTypeEthernet, Snaplen: 100},
		[]packet{{link: layers.LinkTypeEthernet, ci: gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: 300, Length: 300}, data: data}})
	got := readNg(t, file)
	if len(got) != 1 || len(got[0].data) != 100 || got[0].ci.Length != 300 {
		t.Fatalf("got %+v", got)
	}
}

func TestPCAPRefusesASecondLinkType(t *testing.T) {
	w, err := New(io.Discard, Options{Format: PCAP, LinkType: layers.LinkTypeEthernet})
	if err != nil {
		t.Fatal(err)
	}
	err = w.WritePacketAs(layers.LinkTypeRaw, gopacket.CaptureInfo{Timestamp: time.Unix(1, 0)}, []byte{0x45}, "")
	if !errors.Is(err, ErrLinkType) {
		t.Fatalf("a raw IP packet in an Ethernet pcap: %v, want ErrLinkType", err)
	}
}

func TestLongAndInvalidComments(t *testing.T) {
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: 1, Length: 1}
	long := strings.Repeat("é", maxComment) // twice maxComment bytes
	file := write(t, Options{Format: PCAPNG, LinkType: layers.LinkTypeEthernet}, []packet{
		{link: layers.LinkTypeEthernet, ci: ci, data: []byte{1}, comment: long},
		{link: layers.LinkTypeEthernet, ci: ci, data: []byte{2}, comment: "bad \xff byte"},
	})
	got := readNg(t, file)
	if len(got) != 2 {
		t.Fatalf("read %d packets", len(got))
	}
	if c := got[0].comment; len(c) > maxComment || len(c) < maxComment-3 || !strings.HasPrefix(long, c) {
		t.Errorf("long comment kept as %d bytes", len(c))
	}
	if c := got[1].comment; c != "bad \uFFFD byte" {
		t.Errorf("invalid UTF-8 kept as %q", c)
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestErrorsAreSticky(t *testing.T) {
	if _, err := New(failWriter{}, Options{Format: PCAP}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("header to a failing writer: %v", err)
	}
}

func TestFormatFor(t *testing.T) {
	for name, want := range map[string]Format{"a.pcapng": PCAPNG, "A.PCAPNG": PCAPNG, "a.pcap": PCAP, "-": PCAP, "pcapng": PCAP} {
		if got := FormatFor(name); got != want {
			t.Errorf("FormatFor(%q) = %d, want %d", name, got, want)
		}
	}
}

// needTool skips a test without an outside tool, but fails it in CI,
// which installs them.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI must have %s: %v", name, err)
		}
		t.Skipf("no %s: %v", name, err)
	}
	return path
}

// TestTsharkReadsComments: Wireshark shows the comments as frame.comment,
// and reads every packet of a mixed-link-type file.
func TestTsharkReadsComments(t *testing.T) {
	tshark := needTool(t, "tshark")
	ps := testPackets(layers.LinkTypeEthernet)
	ps[4].link = layers.LinkTypeRaw
	ps[3].comment = "alice: hello bob"
	file := filepath.Join(t.TempDir(), "a.pcapng")
	if err := os.WriteFile(file, write(t, Options{Format: PCAPNG, LinkType: layers.LinkTypeEthernet, Interface: "lo"}, ps), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tshark, "-r", file, "-T", "fields", "-e", "frame.comment", "-e", "frame.len").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != len(ps) {
		t.Fatalf("tshark read %d packets, %d written:\n%s", len(lines), len(ps), out)
	}
	for i, p := range ps {
		want := p.comment + "\t" + strconv.Itoa(p.ci.Length)
		if lines[i] != want {
			t.Errorf("tshark packet %d: %q, want %q", i, lines[i], want)
		}
	}
}
