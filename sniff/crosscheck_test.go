package sniff

import (
	"chatlab/sniff/event"

	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"chatlab/sniff/filter"
)

// needTool returns the path of a command-line tool, skipping the test
// when it is missing, except in CI, where .ci/run installs it.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s must be installed in CI: %v", name, err)
		}
		t.Skipf("%s is not installed", name)
	}
	return path
}

// tsharkCount is how many packets tshark reads from a capture file.
func tsharkCount(t *testing.T, tshark, file string) int {
	t.Helper()
	out, err := exec.Command(tshark, "-n", "-r", file, "-T", "fields", "-e", "frame.number").Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v", file, err)
	}
	return len(strings.Fields(string(out)))
}

// TestCrossCheckTools captures the same traffic with tcpdump and with
// sniff -w, has tshark count both files, and reads tcpdump's file back.
func TestCrossCheckTools(t *testing.T) {
	needCapture(t)
	tshark := needTool(t, "tshark")
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	tdFile := filepath.Join(dir, "tcpdump.pcap")
	stopTcpdump := startTcpdump(t, tdFile, "tcp", "port", port)

	f, _ := filter.Parse([]string{"port", port})
	ctx, cancel := context.WithTimeout(context.Background(), liveTimeout)
	defer cancel()
	src, link, err := OpenLive(ctx, "lo", f)
	if err != nil {
		t.Fatal(err)
	}
	sniffFile := filepath.Join(dir, "sniff.pcap")
	dump, err := os.Create(sniffFile)
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, src, link, Config{Out: &out, Dump: dump, Filter: f, Live: true, LineBuffered: true})
		done <- err
	}()
	for i := 0; i < 3; i++ {
		runChat(t, ln, i == 1)
	}
	waitFor(t, func() string { return "three connections' ends:\n" + out.String() }, func() bool {
		return strings.Count(out.String(), "F.]") >= 6
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	dump.Close()
	shown := strings.Count(out.String(), " → ")
	// tcpdump writes each packet as it comes (-U); wait until it has them all.
	waitFor(t, func() string { return "tcpdump to write " + strconv.Itoa(shown) + " packets" }, func() bool {
		return tsharkCount(t, tshark, tdFile) >= shown
	})
	stopTcpdump()

	if n, m := tsharkCount(t, tshark, sniffFile), tsharkCount(t, tshark, tdFile); n != m || n != shown {
		t.Errorf("tshark reads %d packets from sniff -w and %d from tcpdump -w; sniff printed %d", n, m, shown)
	}
	data, err := os.ReadFile(tdFile)
	if err != nil {
		t.Fatal(err)
	}
	again, stats := runFile(t, data, Config{})
	if n := strings.Count(again, " → "); n != shown {
		t.Errorf("sniff -r of tcpdump's file shows %d segments, want %d", n, shown)
	}
	// tshark writes pcapng; sniff reads that too.
	ngFile := filepath.Join(dir, "tshark.pcapng")
	if out, err := exec.Command(tshark, "-n", "-r", sniffFile, "-w", ngFile).CombinedOutput(); err != nil {
		t.Fatalf("tshark -w: %v\n%s", err, out)
	}
	ng, err := os.ReadFile(ngFile)
	if err != nil {
		t.Fatal(err)
	}
	if ngOut, _ := runFile(t, ng, Config{}); strings.Count(ngOut, " → ") != shown {
		t.Errorf("sniff -r of tshark's pcapng shows %d segments, want %d", strings.Count(ngOut, " → "), shown)
	}
	if len(stats) != 3 || stats[0].Proto != event.ProtoPlain || stats[1].Proto != event.ProtoSecure {
		t.Errorf("connections in tcpdump's file: %+v", stats)
	}
}
