package sniff

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"chatlab/sniff/filter"
)

// session is loopback traffic of several connections, over IPv4 and
// IPv6, captured by tcpdump and tshark as a user would capture it.
type session struct {
	dir          string
	a, b, marker int // the ports: a on 127.0.0.1, b on ::1, marker after the rest
	lo, any, ng  string
	sll1         string
	live         []liveCount
}

// liveCount is a live capture with one filter, running beside the tools.
type liveCount struct {
	filter string
	src    gopacket.PacketDataSource
}

// listen accepts connections on addr and echoes what each sends.
func listen(t *testing.T, addr string) (net.Listener, int) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln, ln.Addr().(*net.TCPAddr).Port
}

// startTool starts a capture tool and waits for the line on its stderr
// that says it is capturing.
func startTool(t *testing.T, ready string, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(needTool(t, name), args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	up := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		closed := false
		for sc.Scan() {
			if !closed && strings.Contains(sc.Text(), ready) {
				close(up)
				closed = true
			}
		}
	}()
	select {
	case <-up:
	case <-time.After(liveTimeout):
		t.Fatalf("%s did not start capturing", name)
	}
	return cmd
}

// talk opens a connection, sends lines one by one, reading each echo,
// and closes it.
func talk(t *testing.T, addr string, lines int) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 200)
	for i := 0; i < lines; i++ {
		msg := fmt.Sprintf("line %d: %s\n", i, strings.Repeat("x", 40+i*30))
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf[:len(msg)]); err != nil {
			t.Fatal(err)
		}
	}
}

// hasPort reports whether the capture file at path holds a packet to or
// from port, as far as it has been written.
func hasPort(path string, port int) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	src, _, err := OpenFile(f)
	if err != nil {
		return false
	}
	d := newDecoder()
	for {
		data, _, link, err := src.ReadPacket()
		if err != nil {
			return false
		}
		if d.decode(data, link) && (int(d.src.Port()) == port || int(d.dst.Port()) == port) {
			return true
		}
	}
}

// capture records the session's traffic with tcpdump on lo (Ethernet),
// tcpdump on any (Linux cooked v2), tshark on lo and any at once (a
// pcapng of two link types), and one live capture per filter given.
func capture(t *testing.T, liveFilters []string) *session {
	needCapture(t)
	s := &session{dir: t.TempDir()}
	_, s.a = listen(t, "127.0.0.1:0")
	_, s.b = listen(t, "[::1]:0")
	_, s.marker = listen(t, "127.0.0.1:0")
	bpf := fmt.Sprintf("tcp and (port %d or port %d or port %d)", s.a, s.b, s.marker)
	s.lo, s.any, s.ng = filepath.Join(s.dir, "lo.pcap"), filepath.Join(s.dir, "any.pcap"), filepath.Join(s.dir, "mixed.pcapng")
	s.sll1 = filepath.Join(s.dir, "sll1.pcap")
	tools := []*exec.Cmd{
		startTool(t, "listening on", "tcpdump", "-i", "lo", "-n", "-U", "-w", s.lo, bpf),
		startTool(t, "listening on", "tcpdump", "-i", "any", "-n", "-U", "-w", s.any, bpf),
		startTool(t, "listening on", "tcpdump", "-i", "any", "-y", "LINUX_SLL", "-n", "-U", "-w", s.sll1, bpf),
		// A filter before the first -i is every interface's.
		startTool(t, "Capturing on", "tshark", "-f", bpf, "-i", "lo", "-i", "any", "-w", s.ng),
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for _, lf := range liveFilters {
		f, err := filter.Parse([]string{s.orMarker(lf)})
		if err != nil {
			t.Fatalf("%q: %v", lf, err)
		}
		src, _, err := OpenLive(ctx, "lo", f)
		if err != nil {
			t.Fatal(err)
		}
		s.live = append(s.live, liveCount{filter: lf, src: src})
	}
	// tshark's capture child may start a moment after it says so: its
	// first packets matter less than tcpdump's, which are compared with
	// the live captures, but wait until it sees a packet.
	for i := 0; ; i++ {
		talk(t, fmt.Sprintf("127.0.0.1:%d", s.a), 1)
		if hasPort(s.ng, s.a) || i > 100 {
			break
		}
	}
	for i := 0; i < 3; i++ {
		talk(t, fmt.Sprintf("127.0.0.1:%d", s.a), 3+i)
		talk(t, fmt.Sprintf("[::1]:%d", s.b), 2+i)
	}
	talk(t, fmt.Sprintf("127.0.0.1:%d", s.marker), 1)
	for _, p := range []string{s.lo, s.any, s.sll1, s.ng} {
		waitFor(t, func() string { return p + " to hold the last connection" }, func() bool { return hasPort(p, s.marker) })
	}
	for _, c := range tools {
		c.Process.Signal(syscall.SIGINT)
		c.Wait()
	}
	return s
}

// expand puts the session's ports into a filter: {a}, {b}, {m}.
func (s *session) expand(f string) string {
	return strings.NewReplacer("{a}", strconv.Itoa(s.a), "{b}", strconv.Itoa(s.b), "{m}", strconv.Itoa(s.marker)).Replace(f)
}

// orMarker is "(filter) or port marker", the filter a live capture runs
// so that it ends on the marker, kept to the session's ports as the
// tools' captures are (other programs use loopback too).
func (s *session) orMarker(f string) string {
	if f == "" {
		f = "tcp"
	}
	return fmt.Sprintf("((%s) or port %d) and (port %d or port %d or port %d)", s.expand(f), s.marker, s.a, s.b, s.marker)
}

// line is what sniff and tcpdump both say of a packet: its time to the
// microsecond and its two ends, in tcpdump's notation.
type line struct {
	time     string
	src, dst string
}

func tdEnd(a netip.AddrPort) string { return a.Addr().String() + "." + strconv.Itoa(int(a.Port())) }

// sniffLines reads the file as -r does (OpenFile, the filter's program,
// the decoder) and returns its TCP segments.
func sniffLines(t *testing.T, path string, f *filter.Filter) ([]line, error) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	src, _, err := OpenFile(fh)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	d, m := newDecoder(), f.Matcher()
	var out []line
	for {
		data, ci, link, err := src.ReadPacket()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if ok, err := m.Match(link, data); err != nil || !ok {
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		if d.decode(data, link) {
			ts := ci.Timestamp.Truncate(time.Microsecond)
			out = append(out, line{fmt.Sprintf("%d.%06d", ts.Unix(), ts.Nanosecond()/1000), tdEnd(d.src), tdEnd(d.dst)})
		}
	}
}

// tdLine matches tcpdump -n -tt's line for a TCP segment, with or
// without the interface and direction of a Linux cooked capture.
var tdLine = regexp.MustCompile(`^(\d+\.\d{6}) .*?\bIP6? (\S+) > (\S+): `)

// tcpdumpLines is what tcpdump -r shows of the file.
func tcpdumpLines(t *testing.T, path string, f string) []line {
	t.Helper()
	args := []string{"-n", "-tt", "-r", path}
	if f != "" {
		args = append(args, f)
	}
	cmd := exec.Command(needTool(t, "tcpdump"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil && !strings.Contains(stderr.String(), "truncated") {
		t.Fatalf("tcpdump %v: %v: %s", args, err, stderr.String())
	}
	var ls []line
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l == "" {
			continue
		}
		m := tdLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("tcpdump line %q not understood", l)
		}
		ls = append(ls, line{m[1], m[2], strings.TrimSuffix(m[3], ":")})
	}
	return ls
}

// tsharkLines is what tshark shows of the file.
func tsharkLines(t *testing.T, path string) []line {
	t.Helper()
	out, err := exec.Command(needTool(t, "tshark"), "-n", "-r", path, "-T", "fields", "-E", "separator=,",
		"-e", "frame.time_epoch", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport",
		"-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport").Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v", path, err)
	}
	var ls []line
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, ",")
		if len(f) != 7 {
			t.Fatalf("tshark line %q not understood", l)
		}
		sec, frac, _ := strings.Cut(f[0], ".")
		frac = (frac + "000000")[:6]
		ls = append(ls, line{sec + "." + frac, f[1] + f[2] + "." + f[3], f[4] + f[5] + "." + f[6]})
	}
	return ls
}

// runCount is how many segments Run shows of the file.
func runCount(t *testing.T, path string, f *filter.Filter) (int, error) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	src, link, err := OpenFile(fh)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := Run(context.Background(), src, link, Config{Out: io.Discard, Filter: f})
	n := 0
	for _, s := range stats {
		n += s.Packets
	}
	return n, err
}

// toolFile runs a tool that writes a capture and returns its path, which
// takes the place of "OUT" in args, or comes last.
func toolFile(t *testing.T, dir, name, tool string, args ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	placed := false
	for i, a := range args {
		if a == "OUT" {
			args[i], placed = out, true
		}
	}
	if !placed {
		args = append(args, out)
	}
	cmd := exec.Command(needTool(t, tool), args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", tool, args, err, b)
	}
	return out
}

// TestRealTools captures loopback traffic with tcpdump, tshark and
// sniff at once, makes every kind of capture a user brings from it with
// editcap, mergecap and gzip, and checks sniff against the tools.
func TestRealTools(t *testing.T) {
	s := capture(t, liveFilters())
	t.Run("reads", func(t *testing.T) { readsWhatToolsWrite(t, s) })
	t.Run("snaplen", func(t *testing.T) { snaplenKeepsRealLength(t, s) })
	t.Run("cutoff", func(t *testing.T) { cutOffFile(t, s) })
	t.Run("filters", func(t *testing.T) { filtersAgreeWithTcpdump(t, s) })
}

// readsWhatToolsWrite checks, for every kind of capture a user brings,
// that sniff reads the packet count tshark gives and the times and
// addresses tshark and tcpdump show, line for line.
func readsWhatToolsWrite(t *testing.T, s *session) {
	dir := s.dir
	ns := toolFile(t, dir, "ns.pcap", "editcap", "-F", "nsecpcap", s.lo)
	files := map[string]string{
		"Ethernet pcap (tcpdump -i lo)":          s.lo,
		"Linux cooked v2 pcap (tcpdump -i any)":  s.any,
		"pcapng of lo and any (tshark)":          s.ng,
		"pcap in nanoseconds (editcap)":          ns,
		"Linux cooked v1 (tcpdump -y LINUX_SLL)": s.sll1,
		"pcapng of three link types (mergecap)": toolFile(t, dir, "merged.pcapng", "mergecap", "-w", "OUT",
			s.ng, s.any),
		"snaplen 100 (editcap -s)":      toolFile(t, dir, "snap.pcap", "editcap", "-s", "100", s.lo),
		"pcapng from pcap (editcap)":    toolFile(t, dir, "lo.pcapng", "editcap", "-F", "pcapng", s.lo),
		"big-endian pcap":               convert(t, s.lo, filepath.Join(dir, "be.pcap"), bigEndian),
		"DLT_NULL (BSD loopback)":       convert(t, s.lo, filepath.Join(dir, "null.pcap"), toNull()),
		"DLT_LOOP (OpenBSD loopback)":   convert(t, s.lo, filepath.Join(dir, "loop.pcap"), toLoop()),
		"raw IP (LINKTYPE_RAW)":         convert(t, s.lo, filepath.Join(dir, "raw.pcap"), toRaw()),
		"raw IPv4 only (LINKTYPE_IPV4)": convert(t, s.lo, filepath.Join(dir, "ipv4.pcap"), toIPv4()),
	}
	zipped := map[string]string{}
	for name, path := range files {
		gz := path + ".gz"
		z, err := exec.Command(needTool(t, "gzip"), "-c", path).Output()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(gz, z, 0o644); err != nil {
			t.Fatal(err)
		}
		zipped[name+", gzip"] = gz
	}
	maps.Copy(files, zipped)
	// tshark reads gzip; what it shows of a file and of the file gzipped
	// is checked once to be the same, then taken from the plain file.
	shown := map[string][]line{}
	for _, path := range files {
		if !strings.HasSuffix(path, ".gz") {
			shown[path] = tsharkLines(t, path)
		}
	}
	gzipped := tsharkLines(t, s.ng+".gz")
	compareLines(t, gzipped, shown[s.ng])
	for name, path := range files {
		t.Run(name, func(t *testing.T) {
			theirs := shown[strings.TrimSuffix(path, ".gz")]
			got, err := runCount(t, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != len(theirs) || got < 20 {
				t.Fatalf("sniff shows %d segments, tshark %d", got, len(theirs))
			}
			ours, err := sniffLines(t, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			compareLines(t, ours, theirs)
			plain := strings.TrimSuffix(path, ".gz") // libpcap reads no gzip
			if !strings.Contains(name, "link types") && !strings.Contains(name, "lo and any") {
				compareLines(t, ours, tcpdumpLines(t, plain, ""))
			}
			t.Logf("%d packets, as tshark and tcpdump", got)
		})
	}
}

func compareLines(t *testing.T, ours, theirs []line) {
	t.Helper()
	if len(ours) != len(theirs) {
		t.Fatalf("sniff reads %d segments, tcpdump %d", len(ours), len(theirs))
	}
	for i := range ours {
		if ours[i] != theirs[i] {
			t.Fatalf("segment %d: sniff %+v, tcpdump %+v", i+1, ours[i], theirs[i])
		}
	}
}

// snaplenKeepsRealLength checks that a segment cut by the snap length
// keeps its real payload length beside what was captured.
func snaplenKeepsRealLength(t *testing.T, s *session) {
	// 100 bytes hold every header (IPv6 and TCP with options: 86) and
	// cut the longer payloads.
	snap := toolFile(t, s.dir, "snap100.pcap", "editcap", "-s", "100", s.lo)
	f, err := os.Open(snap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, _, err := OpenFile(f)
	if err != nil {
		t.Fatal(err)
	}
	d := newDecoder()
	cut := 0
	for {
		data, ci, link, err := src.ReadPacket()
		if err != nil {
			break
		}
		if !d.decode(data, link) {
			t.Fatalf("a packet cut to %d of %d bytes is not decoded", ci.CaptureLength, ci.Length)
		}
		if ci.CaptureLength < ci.Length {
			cut++
			if want := len(d.tcp.Payload) + ci.Length - ci.CaptureLength; d.wireLen != want {
				t.Fatalf("payload %d bytes as sent, want %d (%d captured)", d.wireLen, want, len(d.tcp.Payload))
			}
		} else if d.wireLen != len(d.tcp.Payload) {
			t.Fatalf("whole packet: payload %d as sent, %d captured", d.wireLen, len(d.tcp.Payload))
		}
	}
	if cut == 0 {
		t.Fatal("no packet was cut by the snap length")
	}
}

// cutOffFile reads a file cut off in the middle of a packet: everything
// before the cut, then the damage, naming what was cut.
func cutOffFile(t *testing.T, s *session) {
	data, err := os.ReadFile(s.lo)
	if err != nil {
		t.Fatal(err)
	}
	cutFile := filepath.Join(s.dir, "cut.pcap")
	if err := os.WriteFile(cutFile, data[:len(data)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	whole := tsharkCount(t, needTool(t, "tshark"), s.lo)
	got, err := runCount(t, cutFile, nil)
	var dmg *DamagedError
	if !errors.As(err, &dmg) || !strings.Contains(dmg.Reason, "cut off in the middle of packet") {
		t.Fatalf("error %v, want a DamagedError for the cut", err)
	}
	if got != whole-1 || dmg.Packets != whole-1 {
		t.Fatalf("%d segments shown, damage after %d; want the %d before the cut", got, dmg.Packets, whole-1)
	}
	ours, _ := sniffLines(t, cutFile, nil)
	compareLines(t, ours, tcpdumpLines(t, cutFile, ""))
}

// liveFilters are run live and through -r, and through tcpdump -r.
func liveFilters() []string {
	return []string{
		"", "tcp", "ip", "ip6", "port {a}", "port {b}", "port {a} or port {b}", "port {a} || port {b}",
		"not port {a}", "! port {b}", "src port {a}", "dst port {b}", "host 127.0.0.1", "host ::1",
		"src host ::1", "ip6 and dst port {b}", "net 127.0.0.0/8", "net ::1/128", "not net 127.0.0.0/8",
		"portrange {a}-{b}", "portrange {b}-{a}", "portrange 1-1023", "not portrange 1-1023",
		"(port {a} or port {b}) and not src port {a}", "port {a} or port {b} and ip6",
		"port {a} or (port {b} and ip6)", "not (port {a} or port {b})", "src or dst port {a}",
		"src and dst host 127.0.0.1", "tcp dst port {a} or {b}", "host ::1 or 127.0.0.1",
		"ip and not ip6", "dst net 127.0.0.0/24 && src portrange {a}-{a}", "net 127", "tcp src port {b}",
	}
}

// filtersAgreeWithTcpdump runs each filter through tcpdump -r and
// through sniff -r over the same multi-connection files, and through a
// live capture during the same traffic: the same packets every time.
func filtersAgreeWithTcpdump(t *testing.T, s *session) {
	ctx, cancel := context.WithTimeout(context.Background(), liveTimeout)
	defer cancel()
	for i, raw := range liveFilters() {
		expr := s.expand(raw)
		f, err := filter.Parse(strings.Fields(expr))
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		quoted, err := filter.Parse([]string{expr})
		if err != nil || quoted.String() != f.String() {
			t.Fatalf("%q quoted: %v, %v", expr, quoted, err)
		}
		// tcpdump reads no pcapng of two link types: the tshark file is
		// checked in readsWhatToolsWrite.
		for _, path := range []string{s.lo, s.any} {
			ours, err := sniffLines(t, path, f)
			if err != nil {
				t.Fatal(err)
			}
			theirs := tcpdumpLines(t, path, expr)
			if len(ours) != len(theirs) {
				t.Errorf("%q on %s: sniff %d packets, tcpdump %d", expr, filepath.Base(path), len(ours), len(theirs))
				continue
			}
			compareLines(t, ours, theirs)
			if n, err := runCount(t, path, f); err != nil || n != len(ours) {
				t.Errorf("%q on %s: Run shows %d (%v), want %d", expr, filepath.Base(path), n, err, len(ours))
			}
		}
		// Live: the capture ran with "(filter) or port marker" and is read
		// up to the marker; the file, read with the same filter, too.
		withMarker, _ := filter.Parse([]string{s.orMarker(raw)})
		fromFile, err := sniffLines(t, s.lo, withMarker)
		if err != nil {
			t.Fatal(err)
		}
		var live []line
		d := newDecoder()
		for ctx.Err() == nil {
			data, ci, err := s.live[i].src.ReadPacketData()
			if err != nil {
				t.Fatalf("live %q: %v", expr, err)
			}
			if !d.decode(data, layers.LinkTypeEthernet) {
				continue
			}
			if int(d.src.Port()) == s.marker || int(d.dst.Port()) == s.marker {
				break
			}
			ts := ci.Timestamp.Truncate(time.Microsecond)
			live = append(live, line{fmt.Sprintf("%d.%06d", ts.Unix(), ts.Nanosecond()/1000), tdEnd(d.src), tdEnd(d.dst)})
		}
		var before []line
		for _, l := range fromFile {
			if strings.HasSuffix(l.src, "."+strconv.Itoa(s.marker)) || strings.HasSuffix(l.dst, "."+strconv.Itoa(s.marker)) {
				break
			}
			before = append(before, l)
		}
		if len(live) != len(before) {
			if os.Getenv("DEBUGLIVE") != "" {
				for j := 0; j < max(len(live), len(before)); j++ {
					var a, b line
					if j < len(live) {
						a = live[j]
					}
					if j < len(before) {
						b = before[j]
					}
					t.Logf("%d %v | %v", j, a, b)
				}
			}
			t.Errorf("%q: live %d packets, -r %d", expr, len(live), len(before))
			continue
		}
		// Each packet socket stamps its own copy, so only the ends are
		// compared, not the times; and two sockets may see packets of
		// different connections sent at the same instant in either order,
		// so the order is compared within each direction of each
		// connection.
		for j := range live {
			live[j].time, before[j].time = "", ""
		}
		byFlow := func(ls []line) {
			sort.SliceStable(ls, func(a, b int) bool {
				return ls[a].src+" "+ls[a].dst < ls[b].src+" "+ls[b].dst
			})
		}
		byFlow(live)
		byFlow(before)
		compareLines(t, live, before)
		t.Logf("%-50q %3d packets: tcpdump, sniff -r and sniff live agree", expr, len(before))
	}
}

// Conversions of a capture tcpdump wrote into the formats other systems
// write: the same packets, other framing.
type conversion func(hdr []byte, frame []byte) (newHdr []byte, newFrame []byte, keep bool)

// convert rewrites the pcap at from, record by record, into to.
func convert(t *testing.T, from, to string, c conversion) string {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint32(data) != pcapMagicMicro {
		t.Fatal("the conversions start from a little-endian pcap")
	}
	var out bytes.Buffer
	fileHdr, _, _ := c(data[:24], nil)
	out.Write(fileHdr)
	for rest := data[24:]; len(rest) >= 16; {
		caplen := int(binary.LittleEndian.Uint32(rest[8:]))
		rec, frame := rest[:16], rest[16:16+caplen]
		rest = rest[16+caplen:]
		nh, nf, keep := c(rec, frame)
		if keep {
			out.Write(nh)
			out.Write(nf)
		}
	}
	if err := os.WriteFile(to, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return to
}

// bigEndian swaps every header field, as a big-endian machine writes.
func bigEndian(hdr, frame []byte) ([]byte, []byte, bool) {
	h := bytes.Clone(hdr)
	if frame == nil {
		binary.BigEndian.PutUint32(h, binary.LittleEndian.Uint32(hdr))
		binary.BigEndian.PutUint16(h[4:], binary.LittleEndian.Uint16(hdr[4:]))
		binary.BigEndian.PutUint16(h[6:], binary.LittleEndian.Uint16(hdr[6:]))
		for i := 8; i < 24; i += 4 {
			binary.BigEndian.PutUint32(h[i:], binary.LittleEndian.Uint32(hdr[i:]))
		}
		return h, nil, true
	}
	for i := 0; i < 16; i += 4 {
		binary.BigEndian.PutUint32(h[i:], binary.LittleEndian.Uint32(hdr[i:]))
	}
	return h, frame, true
}

// relink replaces an Ethernet frame's header with head(ethertype) and
// sets the file's link type.
func relink(link uint32, head func(etherType uint16) ([]byte, bool)) conversion {
	return func(hdr, frame []byte) ([]byte, []byte, bool) {
		h := bytes.Clone(hdr)
		if frame == nil {
			binary.LittleEndian.PutUint32(h[20:], link)
			return h, nil, true
		}
		nh, keep := head(binary.BigEndian.Uint16(frame[12:]))
		nf := append(nh, frame[14:]...)
		d := len(nf) - len(frame)
		binary.LittleEndian.PutUint32(h[8:], uint32(int(binary.LittleEndian.Uint32(h[8:]))+d))
		binary.LittleEndian.PutUint32(h[12:], uint32(int(binary.LittleEndian.Uint32(h[12:]))+d))
		return h, nf, keep
	}
}

func toNull() conversion {
	return relink(0, func(et uint16) ([]byte, bool) {
		fam := uint32(2)
		if et == 0x86dd {
			fam = 30 // as macOS writes it
		}
		return binary.LittleEndian.AppendUint32(nil, fam), true
	})
}

func toLoop() conversion {
	return relink(108, func(et uint16) ([]byte, bool) {
		fam := uint32(2)
		if et == 0x86dd {
			fam = 24 // as OpenBSD writes it
		}
		return binary.BigEndian.AppendUint32(nil, fam), true
	})
}

func toRaw() conversion { return relink(101, func(uint16) ([]byte, bool) { return nil, true }) }

func toIPv4() conversion {
	return relink(228, func(et uint16) ([]byte, bool) { return nil, et == 0x0800 })
}
