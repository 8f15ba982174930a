package sniff

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"chatlab/protocol"
)

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
		if i == 1 && !strings.Contains(out.String(), "WARNING IV reuse: record 2 has the IV of record 1") {
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
		`record 1 client → server  "hello.`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the recovery lacks %q:\n%.2000s", want, out.String())
		}
	}
	if s := tap.Stats()[0]; s.IVReuse != hostileRecords-1 {
		t.Errorf("IVReuse %d, want %d", s.IVReuse, hostileRecords-1)
	}
}

// TestRecoveryLinear checks that recovering a keystream costs work in
// proportion to the ciphertexts: four times the ciphertexts, about four
// times the steps, where comparing each with each would take sixteen.
func TestRecoveryLinear(t *testing.T) {
	steps := func(n int) int {
		var cts [][]byte
		for i := range n {
			rec := reuseRecord(i, nil)
			cts = append(cts, rec[protocol.RecordHeaderLen+protocol.NonceSize:len(rec)-protocol.TagSize])
		}
		k := recoverKeystream(cts, false, [][]byte{[]byte("hello"), []byte("there")})
		if k.cribbed < len("hello") {
			t.Fatalf("with %d ciphertexts the crib recovered %d bytes", n, k.cribbed)
		}
		return k.steps
	}
	small, large := steps(maxSamplesPerIV/4), steps(maxSamplesPerIV)
	if large > 5*small {
		t.Errorf("%d steps for %d ciphertexts, %d for %d: more than linear", small, maxSamplesPerIV/4, large, maxSamplesPerIV)
	}
}
