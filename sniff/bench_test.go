package sniff

import (
	"bytes"
	"context"
	"io"
	"net/netip"
	"os"
	"testing"
)

// benchPackets is the size of the capture the speed goal names.
const benchPackets = 60000

// benchPCAP builds a capture of about benchPackets packets: plain and
// secure chats in turn, each on its own client port.
func benchPCAP(tb testing.TB) []byte {
	var buf bytes.Buffer
	b := newPCAPBuilder(tb, &buf)
	base := []scenario{plainScenario(), secureScenario(tb), legacyScenario(tb)}
	for i := 0; b.packets < benchPackets; i++ {
		s := base[i%len(base)]
		s.client = netip.AddrPortFrom(s.client.Addr(), uint16(20000+i%40000))
		b.conversation(tb, s)
	}
	return buf.Bytes()
}

// TestWriteBenchPCAP writes the benchmark capture to $SNIFF_BENCH_PCAP,
// to time the sniff binary against tcpdump -nn -X on the same file.
func TestWriteBenchPCAP(t *testing.T) {
	path := os.Getenv("SNIFF_BENCH_PCAP")
	if path == "" {
		t.Skip("set SNIFF_BENCH_PCAP=FILE to write the benchmark capture")
	}
	if err := os.WriteFile(path, benchPCAP(t), 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkDecodePrint decodes and prints a 60,000-packet capture, as
// sniff -r does, to io.Discard.
func BenchmarkDecodePrint(b *testing.B) {
	pcap := benchPCAP(b)
	b.SetBytes(int64(len(pcap)))
	b.ReportAllocs()
	for b.Loop() {
		src, link, err := OpenFile(bytes.NewReader(pcap))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Run(context.Background(), src, link, Config{Out: io.Discard}); err != nil {
			b.Fatal(err)
		}
	}
}
