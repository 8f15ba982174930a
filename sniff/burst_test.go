package sniff

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/gopacket/gopacket"
	"golang.org/x/sys/unix"

	"chatlab/sniff/dump"
	"chatlab/sniff/filter"
)

// burstPackets is how many packets the burst test sends: some 20,000
// frames of 118 bytes, 4 MB with the ring's per-packet headers, which the
// default 32 MiB ring holds eight times over.
const burstPackets = 20000

// startTcpdump runs tcpdump -U -w file on lo for filter words, waits
// until it listens, and returns a function that stops it and returns its
// standard error.
func startTcpdump(t *testing.T, file string, words ...string) (stop func() string) {
	t.Helper()
	tcpdump := needTool(t, "tcpdump")
	td := exec.Command(tcpdump, append([]string{"-i", "lo", "-n", "-U", "-w", file}, words...)...)
	stderr, err := td.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := td.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { td.Process.Kill(); td.Wait() })
	listening := make(chan struct{})
	var rest strings.Builder
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				close(listening)
			}
			rest.WriteString(sc.Text() + "\n")
		}
	}()
	select {
	case <-listening:
	case <-ended:
		t.Fatalf("tcpdump did not start: %s", rest.String())
	}
	return func() string {
		td.Process.Signal(syscall.SIGINT)
		<-ended
		td.Wait()
		return rest.String()
	}
}

// readFrames returns every frame of a pcap or pcapng file.
func readFrames(t *testing.T, file string) [][]byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, _, err := OpenFile(f)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var frames [][]byte
	for {
		data, _, err := src.ReadPacketData()
		if err == io.EOF {
			return frames
		}
		if err != nil {
			t.Fatalf("%s after %d packets: %v", file, len(frames), err)
		}
		frames = append(frames, append([]byte(nil), data...))
	}
}

// missing returns how many of want's frames got lacks.
func missing(want, got [][]byte) int {
	have := map[string]int{}
	for _, f := range got {
		have[string(f)]++
	}
	n := 0
	for _, f := range want {
		if have[string(f)] == 0 {
			n++
			continue
		}
		have[string(f)]--
	}
	return n
}

// burst puts burstPackets TCP segments for 127.0.0.1:port on lo as
// fast as a packet socket can send them, far faster than a TCP
// connection's writes (which the kernel coalesces into a few large
// segments). Each is distinct (its sequence number) and carries a wrong
// TCP checksum, so the kernel drops it after the captures have seen it
// and nothing answers.
func burst(t *testing.T, port int) {
	t.Helper()
	ifi, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	to := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Protocol: htons(unix.ETH_P_IP), Halen: 6}
	frame := make([]byte, 14+20+20+64)
	binary.BigEndian.PutUint16(frame[12:], 0x0800)
	ip := frame[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], uint16(len(frame)-14))
	copy(ip[12:], []byte{127, 0, 0, 1, 127, 0, 0, 1})
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	sum = sum>>16 + sum&0xffff
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum+sum>>16))
	tcp := frame[34:54]
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], uint16(port))
	tcp[12], tcp[13] = 5<<4, 0x18 // header length, PSH|ACK
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	binary.BigEndian.PutUint16(tcp[16:], 0xdead) // checksum, wrong on purpose
	copy(frame[54:], bytes.Repeat([]byte("x"), 64))
	for i := range burstPackets {
		binary.BigEndian.PutUint32(tcp[4:], uint32(i))
		for {
			err := unix.Sendto(fd, frame, 0, to)
			if err == nil {
				break
			}
			if err != unix.ENOBUFS && err != unix.EAGAIN && err != unix.EINTR {
				t.Fatalf("send packet %d: %v", i, err)
			}
		}
	}
}

// TestLiveBurstKeepsEverything captures a burst of 20,000 packets
// alongside tcpdump, through Pipe to a pcap file with a display behind
// it: sniff's file has every packet tcpdump's has, the kernel dropped
// none, and the drop report says so with the file's count.
func TestLiveBurstKeepsEverything(t *testing.T) {
	needCapture(t)
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	tdFile := filepath.Join(dir, "tcpdump.pcap")
	stopTcpdump := startTcpdump(t, tdFile, "tcp", "port", port)

	flt, err := filter.Parse([]string{"port", port})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), liveTimeout)
	defer cancel()
	src, err := OpenLiveWith(ctx, "lo", flt, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sniffFile := filepath.Join(dir, "sniff.pcap")
	f, err := os.Create(sniffFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := dump.New(f, dump.Options{Format: dump.PCAP, LinkType: src.LinkType(), Snaplen: src.Snaplen()})
	if err != nil {
		t.Fatal(err)
	}
	var shown atomic.Int64
	var display syncBuffer
	done := make(chan error, 1)
	var st PipeStats
	go func() {
		var err error
		st, err = Pipe(ctx, src, PipeConfig{Link: src.LinkType(), Dump: d,
			Show: func(data []byte, ci gopacket.CaptureInfo) (string, error) {
				shown.Add(1)
				fmt.Fprintf(&display, "%v %d bytes\n", ci.Timestamp, len(data))
				return "", nil
			},
			Skipped: func(n int) { display.Write([]byte(SkipNotice(n))) },
		})
		done <- err
	}()
	burst(t, ln.Addr().(*net.TCPAddr).Port)
	// Progress, not the clock: the last packet sent is in sniff's file.
	// tcpdump may have dropped it (its 2 MiB buffer overflows in such a
	// burst); it has what it has when it is stopped.
	waitFor(t, func() string { return "the last packet in sniff's file" }, func() bool {
		frames := readFrames(t, sniffFile)
		return len(frames) > 0 && binary.BigEndian.Uint32(frames[len(frames)-1][38:]) == burstPackets-1
	})
	tdReport := stopTcpdump()
	want := readFrames(t, tdFile)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	src.Close()
	got := readFrames(t, sniffFile)
	cs := src.Stats()
	report := StatsReport(cs, st, true)
	t.Logf("%d packets sent; sniff kept %d, showed %d; tcpdump kept %d\nsniff:\n%stcpdump:\n%s",
		burstPackets, len(got), shown.Load(), len(want), report, tdReport)
	if len(got) != burstPackets {
		t.Errorf("sniff kept %d of the %d packets sent", len(got), burstPackets)
	}
	if n := missing(want, got); n > 0 {
		t.Errorf("sniff's file lacks %d of tcpdump's %d packets", n, len(want))
	}
	if cs.Dropped != 0 || cs.Captured != uint64(len(got)) || cs.Received < cs.Captured || st.Kept != uint64(len(got)) {
		t.Errorf("capture stats %+v, pipe stats %+v, %d packets in the file", cs, st, len(got))
	}
	for _, line := range []string{
		fmt.Sprintf("%d packets captured\n", len(got)),
		fmt.Sprintf("%d packets received by filter\n", cs.Received),
		"0 packets dropped by kernel\n",
	} {
		if !strings.Contains(report, line) {
			t.Errorf("the report lacks %q:\n%s", line, report)
		}
	}
}

// TestLiveSourceDescribesItself: the listening line and a closed source.
func TestLiveSourceDescribesItself(t *testing.T) {
	needCapture(t)
	src, err := OpenLiveWith(context.Background(), "lo", nil, LiveOptions{Snaplen: 96, BufferSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := src.Listening(), "listening on lo, link-type EN10MB (Ethernet), snapshot length 96 bytes"; got != want {
		t.Errorf("Listening() = %q, want %q", got, want)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := src.ReadPacketData(); err != io.EOF {
		t.Errorf("read after Close: %v, want io.EOF", err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRingGeometry(t *testing.T) {
	for _, c := range []struct{ size, block, blocks int }{
		{0, minRingBlock, MinBufferSize / minRingBlock},
		{2 << 20, minRingBlock, 16},
		{DefaultBufferSize, minRingBlock, 256},
		{512 << 20, 1 << 20, 512},
	} {
		b, n := ringGeometry(c.size)
		if b != c.block || n != c.blocks {
			t.Errorf("ringGeometry(%d) = %d × %d, want %d × %d", c.size, n, b, c.blocks, c.block)
		}
	}
}
