package sniff

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"chatlab/sniff/dump"
)

// fakeSource hands out n numbered packets, then io.EOF. If pauseAt is
// set, it says it is not ready before packet pauseAt and waits for
// resume before handing it out.
type fakeSource struct {
	n, next int
	pauseAt int
	paused  chan struct{} // closed when it waits at pauseAt
	resume  chan struct{}
	read    atomic.Int64
}

func newFakeSource(n int) *fakeSource {
	return &fakeSource{n: n, pauseAt: -1, paused: make(chan struct{}), resume: make(chan struct{})}
}

// fakePacket is packet i: its number in its first 4 bytes, and a size
// that varies.
func fakePacket(i int) []byte {
	b := make([]byte, 60+i%50)
	binary.BigEndian.PutUint32(b, uint32(i))
	return b
}

func (s *fakeSource) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	if s.next == s.pauseAt {
		close(s.paused)
		<-s.resume
	}
	if s.next >= s.n {
		return nil, gopacket.CaptureInfo{}, io.EOF
	}
	b := fakePacket(s.next)
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, int64(s.next)*1000), CaptureLength: len(b), Length: len(b)}
	s.next++
	s.read.Add(1)
	return b, ci, nil
}

func (s *fakeSource) Ready() bool { return s.next != s.pauseAt }

// lockedBuffer is a bytes.Buffer safe to read while Pipe writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.b.Bytes()...)
}

func newDump(t *testing.T, w io.Writer, f dump.Format) *dump.Writer {
	t.Helper()
	d, err := dump.New(w, dump.Options{Format: f, LinkType: layers.LinkTypeEthernet})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// filePackets reads a pcap or pcapng file whole and returns each
// packet's number and comment; a file cut short fails the test.
func filePackets(t *testing.T, file []byte) (nums []int, comments []string) {
	t.Helper()
	var src interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var ng *pcapgo.NgReader
	var err error
	if binary.LittleEndian.Uint32(file) == ngSHB {
		ng, err = pcapgo.NewNgReader(bytes.NewReader(file), pcapgo.DefaultNgReaderOptions)
		src = ng
	} else {
		src, err = pcapgo.NewReader(bytes.NewReader(file))
	}
	if err != nil {
		t.Fatal(err)
	}
	for {
		var data []byte
		var err error
		var c string
		if ng != nil {
			var opts pcapgo.NgPacketOptions
			data, _, opts, err = ng.ReadPacketDataWithOptions()
			c = strings.Join(opts.Comments, "|")
		} else {
			data, _, err = src.ReadPacketData()
		}
		if err == io.EOF {
			return nums, comments
		}
		if err != nil {
			t.Fatalf("after %d packets: %v", len(nums), err)
		}
		nums = append(nums, int(binary.BigEndian.Uint32(data)))
		comments = append(comments, c)
	}
}

// inOrder checks that nums is 0, 1, … n-1.
func inOrder(t *testing.T, what string, nums []int, n int) {
	t.Helper()
	if len(nums) != n {
		t.Fatalf("%s: %d packets, want %d", what, len(nums), n)
	}
	for i, v := range nums {
		if v != i {
			t.Fatalf("%s: packet %d is number %d", what, i, v)
		}
	}
}

// TestPipeWritesWhileDisplayStalls: a display stuck on its first packet
// holds back neither the reading nor the file; it then skips what did
// not fit in the backlog and says how many.
func TestPipeWritesWhileDisplayStalls(t *testing.T) {
	const n, backlog = 5000, 64
	src := newFakeSource(n)
	var file lockedBuffer
	release := make(chan struct{})
	var shown []int
	var told int
	var notices []int
	cfg := PipeConfig{
		Link: layers.LinkTypeEthernet, Dump: newDump(t, &file, dump.PCAP), Backlog: backlog,
		Show: func(data []byte, _ gopacket.CaptureInfo) (string, error) {
			if len(shown) == 0 {
				<-release
			}
			shown = append(shown, int(binary.BigEndian.Uint32(data)))
			return "", nil
		},
		Skipped: func(k int) { told += k; notices = append(notices, len(shown)) },
	}
	done := make(chan struct{})
	var st PipeStats
	var err error
	go func() { st, err = Pipe(context.Background(), src, cfg); close(done) }()
	waitFor(t, func() string { return fmt.Sprintf("all packets read; %d are", src.read.Load()) }, func() bool { return src.read.Load() == n })
	close(release)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	nums, _ := filePackets(t, file.Bytes())
	inOrder(t, "file", nums, n)
	if st.Kept != n || st.Shown != uint64(len(shown)) || st.Shown+st.Skipped != n || st.Skipped == 0 {
		t.Errorf("stats %+v with %d shown", st, len(shown))
	}
	if uint64(told) != st.Skipped || len(notices) == 0 {
		t.Errorf("Skipped told of %d packets in %d notices, stats say %d", told, len(notices), st.Skipped)
	}
	if len(shown) > backlog+1 {
		t.Errorf("%d packets shown from a backlog of %d", len(shown), backlog)
	}
	for i := 1; i < len(shown); i++ {
		if shown[i] <= shown[i-1] {
			t.Fatalf("shown out of order: %v", shown)
		}
	}
}

// TestPipeLosslessShowsEverything: reading a file, the reading waits for
// the display rather than skip.
func TestPipeLosslessShowsEverything(t *testing.T) {
	const n = 3000
	var shown []int
	st, err := Pipe(context.Background(), newFakeSource(n), PipeConfig{
		Lossless: true, Backlog: 4, BacklogBytes: 200,
		Show: func(data []byte, _ gopacket.CaptureInfo) (string, error) {
			shown = append(shown, int(binary.BigEndian.Uint32(data)))
			return "", nil
		},
		Skipped: func(k int) { t.Errorf("skipped %d packets", k) },
	})
	if err != nil {
		t.Fatal(err)
	}
	inOrder(t, "shown", shown, n)
	if st != (PipeStats{Kept: n, Shown: n}) {
		t.Errorf("stats %+v", st)
	}
}

// TestPipeFlushesWhenIdle: while the source waits for packets, the file
// already holds every packet read so far, so another program reading it
// sees them.
func TestPipeFlushesWhenIdle(t *testing.T) {
	for _, f := range []dump.Format{dump.PCAP, dump.PCAPNG} {
		src := newFakeSource(500)
		src.pauseAt = 321
		var file lockedBuffer
		done := make(chan error, 1)
		go func() {
			_, err := Pipe(context.Background(), src, PipeConfig{Link: layers.LinkTypeEthernet, Dump: newDump(t, &file, f)})
			done <- err
		}()
		<-src.paused
		nums, _ := filePackets(t, file.Bytes())
		inOrder(t, "file while the source waits", nums, src.pauseAt)
		close(src.resume)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		nums, _ = filePackets(t, file.Bytes())
		inOrder(t, "file at the end", nums, 500)
	}
}

// TestPipeAnnotates: with Annotate, each packet carries the display's
// comment; a display that stalls still leaves every packet in the file,
// in order, those it skipped without a comment.
func TestPipeAnnotates(t *testing.T) {
	const n = 2000
	show := func(data []byte, _ gopacket.CaptureInfo) (string, error) {
		return fmt.Sprintf("text of %d", binary.BigEndian.Uint32(data)), nil
	}
	var file lockedBuffer
	st, err := Pipe(context.Background(), newFakeSource(n), PipeConfig{Link: layers.LinkTypeEthernet, Dump: newDump(t, &file, dump.PCAPNG), Annotate: true, Lossless: true, Show: show})
	if err != nil {
		t.Fatal(err)
	}
	nums, comments := filePackets(t, file.Bytes())
	inOrder(t, "annotated file", nums, n)
	for i, c := range comments {
		if c != fmt.Sprintf("text of %d", i) {
			t.Fatalf("packet %d has comment %q", i, c)
		}
	}
	if st.Shown != n {
		t.Errorf("stats %+v", st)
	}

	// Live, with a display that stalls on its first packet.
	src := newFakeSource(n)
	release := make(chan struct{})
	first := true
	var stalled lockedBuffer
	done := make(chan struct{})
	go func() {
		st, err = Pipe(context.Background(), src, PipeConfig{
			Link: layers.LinkTypeEthernet, Dump: newDump(t, &stalled, dump.PCAPNG), Annotate: true, Backlog: 16,
			Show: func(data []byte, ci gopacket.CaptureInfo) (string, error) {
				if first {
					first = false
					<-release
				}
				return show(data, ci)
			},
		})
		close(done)
	}()
	waitFor(t, func() string { return "the display's stall" }, func() bool { return src.read.Load() > 16 })
	close(release)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	nums, comments = filePackets(t, stalled.Bytes())
	inOrder(t, "file of a stalled display", nums, n)
	bare := 0
	for i, c := range comments {
		if c == "" {
			bare++
		} else if c != fmt.Sprintf("text of %d", i) {
			t.Fatalf("packet %d has comment %q", i, c)
		}
	}
	if st.Kept != n || st.Shown+st.Skipped != n || uint64(bare) != st.Skipped {
		t.Errorf("stats %+v, %d packets without a comment", st, bare)
	}
}

func TestPipeCountAndKeep(t *testing.T) {
	var file lockedBuffer
	shown := 0
	st, err := Pipe(context.Background(), newFakeSource(1000), PipeConfig{
		Link: layers.LinkTypeEthernet, Dump: newDump(t, &file, dump.PCAP), Count: 10, Lossless: true,
		Keep: func(data []byte, _ gopacket.CaptureInfo) bool { return binary.BigEndian.Uint32(data)%2 == 0 },
		Show: func([]byte, gopacket.CaptureInfo) (string, error) { shown++; return "", nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	nums, _ := filePackets(t, file.Bytes())
	if len(nums) != 10 || nums[9] != 18 || shown != 10 || st.Kept != 10 {
		t.Errorf("file %v, %d shown, stats %+v", nums, shown, st)
	}
}

// TestPipeShowError: a display error ends Pipe, and the reading
// goroutine ends with it.
func TestPipeShowError(t *testing.T) {
	boom := errors.New("terminal gone")
	_, err := Pipe(context.Background(), newFakeSource(100000), PipeConfig{
		Lossless: true,
		Show:     func([]byte, gopacket.CaptureInfo) (string, error) { return "", boom },
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the display's error", err)
	}
}

// TestPipeStopsWithContext: a cancelled capture returns, its file whole.
func TestPipeStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	src := newFakeSource(100)
	src.pauseAt = 50
	var file lockedBuffer
	done := make(chan error, 1)
	go func() {
		_, err := Pipe(ctx, src, PipeConfig{Link: layers.LinkTypeEthernet, Dump: newDump(t, &file, dump.PCAPNG),
			Show: func([]byte, gopacket.CaptureInfo) (string, error) { return "", nil }})
		done <- err
	}()
	<-src.paused
	cancel()
	close(src.resume)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	nums, _ := filePackets(t, file.Bytes())
	if len(nums) < 50 {
		t.Errorf("file has %d packets, 50 were read before the stop", len(nums))
	}
}

func TestStatsReport(t *testing.T) {
	got := StatsReport(CaptureStats{Captured: 1, Received: 20, Dropped: 0}, PipeStats{Skipped: 5}, true)
	want := "1 packet captured\n20 packets received by filter\n0 packets dropped by kernel\n" +
		"5 packets not shown: the display fell behind; the -w file has them all\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if got := StatsReport(CaptureStats{Captured: 2, Received: 2}, PipeStats{}, false); strings.Contains(got, "not shown") {
		t.Errorf("a report with nothing skipped: %s", got)
	}
}
