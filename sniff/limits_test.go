package sniff

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"chatlab/protocol"
)

// hostileConns is how many one-byte connections the flood test sends:
// twelve times maxConns. Before the limit, sniff kept about 140 MB for
// them (segment mode) and 180 MB (Follow), from a 3.7 MB capture.
const hostileConns = 50000

// connsHeapCeiling is the most a run may keep for hostileConns
// connections: maxConns connections at a few KB each in the Tap and the
// reassembler, about 11 MB and 17 MB measured, with room to spare.
const connsHeapCeiling = 24 << 20

// hostileRecords is how many records the IV reuse test sends under one
// nonce, and hostileRecordSize their ciphertext size: 20 MB in all, which
// the tracker used to keep whole.
const (
	hostileRecords    = 20000
	hostileRecordSize = 1000
)

// reuseHeapCeiling is the most the Tap may keep for hostileRecords:
// maxSamplesPerIV ciphertexts (64 KB) and the Tap's own buffers.
const reuseHeapCeiling = 2 << 20

// heapInuse collects garbage and returns the heap in use.
func heapInuse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// heapAtEOF passes packets through and, when src ends, records the heap in
// use: everything Run keeps is still live then.
type heapAtEOF struct {
	src  gopacket.PacketDataSource
	heap int64
}

func (h *heapAtEOF) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	data, ci, err := h.src.ReadPacketData()
	if err == io.EOF {
		h.heap = heapInuse()
	}
	return data, ci, err
}

// tinyConnsPCAP is a capture of n connections, each one segment with one
// byte, each from an address of its own.
func tinyConnsPCAP(t testing.TB, n int) []byte {
	var buf bytes.Buffer
	b := newPCAPBuilder(t, &buf)
	server := ap("127.0.0.1:9000")
	for i := range n {
		b.packet(t, tinyClient(i), server, layers.TCP{PSH: true, ACK: true, Seq: 1000, Ack: 5000}, []byte{'x'})
	}
	return buf.Bytes()
}

func tinyClient(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 40000)
}

// TestConnFloodBounded floods Run with connections: what it keeps stays
// under a fixed ceiling, and the ones past maxConns are still counted.
func TestConnFloodBounded(t *testing.T) {
	pcap := tinyConnsPCAP(t, hostileConns)
	for _, follow := range []bool{false, true} {
		t.Run(fmt.Sprintf("follow=%v", follow), func(t *testing.T) {
			src, link, err := OpenFile(bytes.NewReader(pcap))
			if err != nil {
				t.Fatal(err)
			}
			h := &heapAtEOF{src: src}
			before := heapInuse()
			stats, err := Run(context.Background(), h, link, Config{Out: io.Discard, Follow: follow, Stats: true})
			if err != nil {
				t.Fatal(err)
			}
			if grew := h.heap - before; grew > connsHeapCeiling {
				t.Errorf("kept %d KB for %d connections, want under %d KB", grew>>10, hostileConns, connsHeapCeiling>>10)
			}
			if len(stats) != maxConns+1 || stats[maxConns].ID != 0 {
				t.Fatalf("%d entries in the statistics, want %d and the overflow bucket", len(stats), maxConns)
			}
			packets, bytes := 0, 0
			for _, s := range stats {
				packets += s.Packets
				bytes += s.Bytes
			}
			if packets != hostileConns || bytes != hostileConns {
				t.Errorf("counted %d packets and %d bytes, want %d of each", packets, bytes, hostileConns)
			}
		})
	}
}

// TestConnLimitNotice checks that connections past maxConns go to one
// bucket, which is announced once, shown in the statistics and not
// dissected.
func TestConnLimitNotice(t *testing.T) {
	var out bytes.Buffer
	tap := NewTap(Config{Out: &out, Stats: true})
	server := ap("127.0.0.1:9000")
	for i := range maxConns + 3 {
		tap.Data(tinyClient(i), server, true, []byte("hi\n"))
	}
	if err := tap.Close(); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if n := strings.Count(got, "more than 4096 connections"); n != 1 {
		t.Errorf("the limit was announced %d times, want once", n)
	}
	if n := strings.Count(got, `plain name "hi"`); n != maxConns {
		t.Errorf("%d messages dissected, want %d", n, maxConns)
	}
	if !strings.Contains(got, "others, beyond the first 4096") {
		t.Errorf("the statistics lack the overflow row")
	}
	stats := tap.Stats()
	last := stats[len(stats)-1]
	if len(stats) != maxConns+1 || !(last.ID == 0) || last.Packets != 3 || last.Bytes != 9 {
		t.Errorf("%d entries, the last %+v", len(stats), last)
	}
}

// reuseRecord returns record i of a stream whose records all share one
// nonce and one keystream: text starting "hello ".
func reuseRecord(i int, buf []byte) []byte {
	const greeting = "hello "
	const text = "there, this is one of many messages sent under a single nonce. "
	body := make([]byte, protocol.NonceSize, protocol.NonceSize+hostileRecordSize+protocol.TagSize)
	for j := range hostileRecordSize {
		p := text[(i+j)%len(text)]
		if j < len(greeting) {
			p = greeting[j]
		}
		body = append(body, byte(j*131+7)^p)
	}
	body = append(body, make([]byte, protocol.TagSize)...)
	return protocol.AppendRecord(buf[:0], protocol.TypeData, body)
}

// TestIVReuseBounded sends many records under one nonce: the warning is
// still given, but the Tap keeps only maxSamplesPerIV of them.
func TestIVReuseBounded(t *testing.T) {
	var out bytes.Buffer
	tap := NewTap(Config{Out: &out, Cribs: []string{"hello"}})
	client, server := ap("127.0.0.1:40000"), ap("127.0.0.1:9000")
	before := heapInuse()
	var buf []byte
	for i := range hostileRecords {
		buf = reuseRecord(i, buf)
		tap.Data(client, server, true, buf)
		if i == 1 && !strings.Contains(out.String(), "IV reuse: record 2 has the IV of record 1") {
			t.Fatalf("no warning on the first reuse:\n%s", out.String())
		}
		out.Reset() // the per-record lines are not what is measured
	}
	if grew := heapInuse() - before; grew > reuseHeapCeiling {
		t.Errorf("kept %d KB for %d records, want under %d KB", grew>>10, hostileRecords, reuseHeapCeiling>>10)
	}
	g := tap.order[0].reuse.order[0]
	if g.seen != hostileRecords || len(g.samples) != maxSamplesPerIV {
		t.Errorf("saw %d records and kept %d, want %d and %d", g.seen, len(g.samples), hostileRecords, maxSamplesPerIV)
	}
	if err := tap.Close(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"20000 records share IV",
		"the first 64 are kept and analysed",
		`crib "hello"`,
	} {
		if !strings.Contains(unwrap(out.String()), want) {
			t.Errorf("the recovery lacks %q:\n%.2000s", want, out.String())
		}
	}
	if s := tap.Stats()[0]; s.IVReuse != hostileRecords-1 {
		t.Errorf("IVReuse %d, want %d", s.IVReuse, hostileRecords-1)
	}
}

// TestRecoveryBudget checks that a capture built to repeat IVs in very
// many groups cannot keep the solver busy without end: past maxSolved
// bytes of ciphertext, groups are reported and not analysed.
func TestRecoveryBudget(t *testing.T) {
	var out bytes.Buffer
	tap := NewTap(Config{Out: &out})
	server := ap("127.0.0.1:9000")
	// Each connection repeats its own nonce twice with 1 KiB records.
	const conns = 300
	body := make([]byte, protocol.NonceSize+1024+protocol.TagSize)
	for i := range conns {
		client := tinyClient(i)
		for range 2 {
			rec := append([]byte{byte(protocol.TypeData), 0, 0, 0, 0}, body...)
			binary.BigEndian.PutUint32(rec[1:5], uint32(len(body)))
			tap.Data(client, server, true, rec)
		}
	}
	if err := tap.Close(); err != nil {
		t.Fatal(err)
	}
	if tap.solved > maxSolved {
		t.Errorf("the solver was given %d bytes, more than its budget of %d", tap.solved, maxSolved)
	}
	if n := strings.Count(out.String(), "not analysed: this capture already used the recovery's budget"); n == 0 {
		t.Errorf("no group was reported as over the budget")
	}
	if n := strings.Count(out.String(), "IV reuse recovery"); n != conns {
		t.Errorf("%d recoveries reported, want %d", n, conns)
	}
}

// TestFollowFlushesByPacketTime checks that reading a file, Follow gives up
// on a missing segment once the capture's own clock has moved on, as a
// live capture does, instead of holding what follows the hole to the end.
func TestFollowFlushesByPacketTime(t *testing.T) {
	var buf bytes.Buffer
	b := newPCAPBuilder(t, &buf)
	a, later, server := ap("127.0.0.1:40001"), ap("127.0.0.1:40002"), ap("127.0.0.1:9000")
	b.packet(t, a, server, layers.TCP{SYN: true, Seq: 1000}, nil)
	b.packet(t, server, a, layers.TCP{SYN: true, ACK: true, Seq: 5000, Ack: 1001}, nil)
	b.packet(t, a, server, layers.TCP{PSH: true, ACK: true, Seq: 1001, Ack: 5001}, []byte("alice\n"))
	// "lost\n" at 1007 was not captured.
	b.packet(t, a, server, layers.TCP{PSH: true, ACK: true, Seq: 1012, Ack: 5001}, []byte("after the hole\n"))
	b.now = b.now.Add(10 * flushInterval)
	b.packet(t, later, server, layers.TCP{PSH: true, ACK: true, Seq: 1, Ack: 1}, []byte("bob\n"))
	out, _ := runFile(t, buf.Bytes(), Config{Follow: true})
	hole := strings.Index(out, `"after the hole"`)
	next := strings.Index(out, "#2 connection")
	if hole < 0 || next < 0 || hole > next {
		t.Errorf("the data after the hole waited for the end of the file:\n%s", out)
	}
	if !strings.Contains(out, "5 bytes missing") {
		t.Errorf("the hole is not shown:\n%s", out)
	}
}
