package toolbench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"chatlab/protocol/chat"
	"chatlab/sniff"
)

// defaultMessages is the chat load that makes the captures: one sender,
// one receiver, 1 KiB messages, as the measurements.
const defaultMessages = 30000

// referenceBuffer is the ring (-B, KiB) of the tcpdump whose file every
// other capture is counted against: big enough to lose nothing.
const referenceBuffer = "524288"

// captureWait bounds the wait for a capture to write a connection's
// last packets.
const captureWait = 30 * time.Second

// need is the path of a tool, or skips (fails in CI, which has them).
func need(tb testing.TB, name string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s must be installed in CI: %v", name, err)
		}
		tb.Skipf("%s is not installed", name)
	}
	return path
}

// tools are the programs compared.
type tools struct {
	sniff, tcpdump, tshark string
	quiet                  bool // sniff takes -q
}

func findTools(b *testing.B) *tools {
	if err := sniff.CanCapture("lo"); err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatalf("live capture must run in CI: %v", err)
		}
		b.Skipf("no live capture: %v", err)
	}
	t := &tools{tcpdump: need(b, "tcpdump"), tshark: need(b, "tshark")}
	t.sniff = filepath.Join(b.TempDir(), "sniff")
	if out, err := exec.Command("go", "build", "-o", t.sniff, "../../cmd/sniff").CombinedOutput(); err != nil {
		b.Fatalf("build sniff: %v\n%s", err, out)
	}
	// -q arrives with tcpdump's flags; until then the copy prints.
	t.quiet = !strings.Contains(combined(t.sniff, "-q", "-r", os.DevNull), "not defined")
	return t
}

func combined(name string, args ...string) string {
	out, _ := exec.Command(name, args...).CombinedOutput()
	return string(out)
}

// run is one timed run of a tool, its output thrown away.
type run struct {
	wall, cpu time.Duration
	maxRSS    int64 // KiB
}

func timed(tb testing.TB, name string, args ...string) run {
	tb.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer devnull.Close()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = devnull, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	r := run{wall: time.Since(start), cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss
	}
	return r
}

// capture is a running capture program writing a file.
type capture struct {
	name   string
	cmd    *exec.Cmd
	file   string
	stderr bytes.Buffer
	ended  chan struct{}
}

// startCapture runs a capture and waits for its "listening on" line.
func startCapture(tb testing.TB, label, file string, name string, args ...string) *capture {
	tb.Helper()
	c := &capture{name: label, file: file, cmd: exec.Command(name, args...), ended: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), "NO_COLOR=1")
	c.cmd.Stdout = io.Discard // a pipe drained as fast as a quick terminal
	pipe, err := c.cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.cmd.Process.Kill(); <-c.ended })
	listening := make(chan struct{})
	go func() {
		defer close(c.ended)
		sc := bufio.NewScanner(pipe)
		seen := false
		for sc.Scan() {
			if !seen && strings.Contains(sc.Text(), "listening on") {
				seen = true
				close(listening)
			}
			c.stderr.WriteString(sc.Text() + "\n")
		}
		c.cmd.Wait()
	}()
	select {
	case <-listening:
	case <-c.ended:
		tb.Fatalf("%s did not start:\n%s", label, c.stderr.String())
	}
	return c
}

// counts are a capture's own report.
type counts struct {
	kept, received, dropped int
	cpu                     time.Duration
}

var countRE = regexp.MustCompile(`(\d+) packets? (captured|received by filter|dropped by kernel)`)

// stop interrupts the capture and reads its report and its file.
func (c *capture) stop(tb testing.TB) counts {
	tb.Helper()
	c.cmd.Process.Signal(syscall.SIGINT)
	<-c.ended
	var n counts
	for _, m := range countRE.FindAllStringSubmatch(c.stderr.String(), -1) {
		v, _ := strconv.Atoi(m[1])
		switch m[2] {
		case "received by filter":
			n.received = v
		case "dropped by kernel":
			n.dropped = v
		}
	}
	n.kept, _ = fileCounts(c.file)
	if ps := c.cmd.ProcessState; ps != nil {
		n.cpu = ps.UserTime() + ps.SystemTime()
	}
	return n
}

// fileCounts reads a capture file (which may be growing) and returns
// its whole packets and how many end a connection (FIN or RST).
func fileCounts(file string) (packets, ends int) {
	f, err := os.Open(file)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	src, _, err := sniff.OpenFile(f)
	if err != nil {
		return 0, 0
	}
	for {
		data, _, err := src.ReadPacketData()
		if err != nil {
			return packets, ends
		}
		packets++
		if isEnd(data) {
			ends++
		}
	}
}

// isEnd reports whether an Ethernet frame is an IPv4 TCP segment with
// FIN or RST (a client closing with unread data resets).
func isEnd(frame []byte) bool {
	if len(frame) < 14+20 || frame[12] != 0x08 || frame[13] != 0 || frame[14+9] != 6 {
		return false
	}
	tcp := 14 + int(frame[14]&0x0f)*4
	return len(frame) > tcp+13 && frame[tcp+13]&0x05 != 0
}

// waitFINs waits until file has the ends of the load's two connections,
// or captureWait passes (a capture that dropped them).
func waitFINs(file string) bool {
	deadline := time.Now().Add(captureWait)
	for time.Now().Before(deadline) {
		if _, ends := fileCounts(file); ends >= 2 {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// liveResult is one mode's live capture under load.
type liveResult struct {
	mode                string
	reference           counts
	sniff, tcpdump      counts
	referenceFile, dir  string
	loadTime            time.Duration
	sniffGotAll, tdDone bool // the file has both connections' ends
}

// live runs the chat load in mode while three captures run: a tcpdump
// with a huge buffer (the reference), sniff -w with its output drained,
// and tcpdump with its default buffer, as the issue measured.
func live(b *testing.B, t *tools, mode chat.Mode, messages int) liveResult {
	dir := b.TempDir()
	s := startServer(b, mode, loadKey(b))
	defer s.stop()
	port := strconv.Itoa(s.port)
	r := liveResult{mode: mode.String(), dir: dir, referenceFile: filepath.Join(dir, "reference.pcap")}
	ref := startCapture(b, "reference tcpdump", r.referenceFile, t.tcpdump, "-i", "lo", "-n", "-U", "-B", referenceBuffer, "-w", r.referenceFile, "tcp", "port", port)
	sn := startCapture(b, "sniff", filepath.Join(dir, "sniff.pcap"), t.sniff, "lo", "port", port, "-w", filepath.Join(dir, "sniff.pcap"))
	td := startCapture(b, "tcpdump", filepath.Join(dir, "tcpdump.pcap"), t.tcpdump, "-i", "lo", "-n", "-U", "-w", filepath.Join(dir, "tcpdump.pcap"), "tcp", "port", port)
	start := time.Now()
	load(b, s, messages)
	r.loadTime = time.Since(start)
	// sniff and tcpdump -U flush as they go; the reference is read once
	// stopped. Each gets until its file shows both connections' ends.
	r.sniffGotAll = waitFINs(sn.file)
	r.tdDone = waitFINs(td.file)
	if !waitFINs(r.referenceFile) {
		b.Logf("the reference tcpdump lacks the connections' ends")
	}
	r.sniff = sn.stop(b)
	r.tcpdump = td.stop(b)
	r.reference = ref.stop(b)
	if r.reference.dropped != 0 {
		b.Logf("the reference tcpdump dropped %d packets: counts are against what it kept", r.reference.dropped)
	}
	return r
}

// BenchmarkTools compares sniff with tcpdump and tshark on captures of
// chat load it makes itself; see the package comment for the command.
// Every figure is reported as a metric; the table at the end gives the
// ratios.
func BenchmarkTools(b *testing.B) {
	t := findTools(b)
	messages := defaultMessages
	if v := os.Getenv("TOOLBENCH_MESSAGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < loadBatch {
			b.Fatalf("TOOLBENCH_MESSAGES=%q: want a number of messages, at least %d", v, loadBatch)
		}
		messages = n
	}
	var table []string
	row := func(format string, args ...any) { table = append(table, fmt.Sprintf(format, args...)) }
	for _, mode := range []chat.Mode{chat.Plain, chat.Secure} {
		r := live(b, t, mode, messages)
		name := r.mode
		b.Run("live/"+name, func(b *testing.B) {
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(r.reference.kept), "packets")
			b.ReportMetric(float64(r.sniff.kept), "sniff-kept")
			b.ReportMetric(float64(r.tcpdump.kept), "tcpdump-kept")
			b.ReportMetric(float64(r.sniff.dropped), "sniff-dropped")
			b.ReportMetric(float64(r.tcpdump.dropped), "tcpdump-dropped")
			b.ReportMetric(r.sniff.cpu.Seconds()/r.loadTime.Seconds(), "sniff-cores")
		})
		row("live %-6s %8d pkts in %5.1fs (%6.0f/s): sniff kept %8d (%5.1f%%, %d dropped, %.2f cores), tcpdump -B 2MiB kept %8d (%5.1f%%, %d dropped)",
			name, r.reference.kept, r.loadTime.Seconds(), float64(r.reference.kept)/r.loadTime.Seconds(),
			r.sniff.kept, pct(r.sniff.kept, r.reference.kept), r.sniff.dropped, r.sniff.cpu.Seconds()/r.loadTime.Seconds(),
			r.tcpdump.kept, pct(r.tcpdump.kept, r.reference.kept), r.tcpdump.dropped)
		if !r.sniffGotAll || !r.tdDone {
			row("live %-6s ends of the connections: in sniff's file %v, in tcpdump's %v", name, r.sniffGotAll, r.tdDone)
		}
		f := r.referenceFile
		out := filepath.Join(r.dir, "copy.pcap")
		copyArgs := []string{"-r", f, "-w", out}
		if t.quiet {
			copyArgs = append(copyArgs, "-q")
		}
		for _, c := range []struct {
			name   string
			sniff  []string
			others [][]string // each: tool path, then its arguments
		}{
			{"read", []string{"-r", f}, [][]string{{t.tcpdump, "-nn", "-X", "-r", f}, {t.tshark, "-n", "-x", "-r", f}}},
			{"follow", []string{"-r", f, "--follow"}, [][]string{{t.tshark, "-n", "-q", "-r", f, "-z", "follow,tcp,ascii,0"}}},
			{"copy", copyArgs, [][]string{{t.tcpdump, "-r", f, "-w", out}}},
		} {
			var sn run
			others := make([]run, len(c.others))
			b.Run(c.name+"/"+name, func(b *testing.B) {
				sn, others = run{}, make([]run, len(c.others))
				for b.Loop() {
					// Alternate, so a noisy moment does not pick one tool.
					s := timed(b, t.sniff, c.sniff...)
					sn.wall, sn.cpu, sn.maxRSS = sn.wall+s.wall, sn.cpu+s.cpu, max(sn.maxRSS, s.maxRSS)
					for i, o := range c.others {
						r := timed(b, o[0], o[1:]...)
						others[i].wall += r.wall
					}
				}
				n := float64(b.N)
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(sn.wall.Seconds()/n, "sniff-s")
				b.ReportMetric(float64(sn.maxRSS)/1024, "sniff-MiB")
				for i, o := range c.others {
					tool := filepath.Base(o[0])
					b.ReportMetric(others[i].wall.Seconds()/n, tool+"-s")
					b.ReportMetric(sn.wall.Seconds()/others[i].wall.Seconds(), "x-"+tool)
				}
				line := fmt.Sprintf("%-6s %-6s %8d pkts: sniff %6.2fs (%3.0f MiB)", c.name, name, r.reference.kept, sn.wall.Seconds()/n, float64(sn.maxRSS)/1024)
				for i, o := range c.others {
					line += fmt.Sprintf(", %s %6.2fs (sniff %.2f×)", filepath.Base(o[0]), others[i].wall.Seconds()/n, sn.wall.Seconds()/others[i].wall.Seconds())
				}
				if c.name == "copy" && !t.quiet {
					line += " [sniff without -q]"
				}
				row("%s", line)
			})
		}
	}
	fmt.Println("\n" + strings.Join(table, "\n"))
}

func pct(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}
