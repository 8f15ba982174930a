package protocol

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

func TestRecordRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		typ := []RecordType{TypeHello, TypeKeyExchange, TypeData}[rng.IntN(3)]
		body := make([]byte, rng.IntN(MaxRecordBody+1))
		for j := range body {
			body[j] = byte(rng.Uint32())
		}
		rec := AppendRecord(nil, typ, body)
		tail := []byte("next")
		h, got, rest, err := ParseRecord(append(rec, tail...))
		if err != nil || h.Type != typ || int(h.Length) != len(body) || !bytes.Equal(got, body) || !bytes.Equal(rest, tail) {
			t.Fatalf("round trip %d: %v %v", i, h, err)
		}
		rr := recordReader{r: newReader(bytes.NewReader(rec))}
		h2, got2, err := rr.next()
		if err != nil || h2 != h || !bytes.Equal(got2, body) {
			t.Fatalf("reader round trip %d: %v", i, err)
		}
		if _, _, err := rr.next(); err != io.EOF {
			t.Fatalf("after the last record: %v, want io.EOF", err)
		}
	}
}

func TestRecordEveryPrefixRejected(t *testing.T) {
	for _, v := range readVectors(t, vectorsPath) {
		for _, field := range []string{"hello-record", "key-exchange-record", "record"} {
			rec := v.hex(t, field)
			if len(rec) == 0 {
				continue
			}
			for n := 0; n < len(rec); n++ {
				if _, _, _, err := ParseRecord(rec[:n]); !errors.Is(err, ErrTruncated) {
					t.Fatalf("%s %s prefix %d: %v, want ErrTruncated", v["name"], field, n, err)
				}
				rr := recordReader{r: newReader(bytes.NewReader(rec[:n]))}
				_, _, err := rr.next()
				if n == 0 && err != io.EOF || n > 0 && !errors.Is(err, ErrTruncated) {
					t.Fatalf("%s %s reader prefix %d: %v", v["name"], field, n, err)
				}
			}
		}
	}
}

func TestHeaderLimits(t *testing.T) {
	for _, tc := range []struct {
		hdr  []byte
		want error
	}{
		{[]byte{0x17, 0, 0, 0x10, 0x40}, nil},                   // exactly MaxRecordBody
		{[]byte{0x17, 0, 0, 0x10, 0x41}, ErrOversize},           // one byte over
		{[]byte{0x17, 0xff, 0xff, 0xff, 0xff}, ErrOversize},     // 4 GiB
		{[]byte{0x00, 0, 0, 0, 1}, ErrUnknownType},              // type 0
		{[]byte("alice"), ErrUnknownType},                       // a plain-mode name
		{[]byte{0x16, 0x03, 0x01, 0x02, 0x00}, ErrUnknownType},  // a TLS ClientHello
		{[]byte{0x01, 0, 0, 0}, ErrTruncated},                   // short header
		{[]byte{byte(TypeKeyExchange), 0, 0, 1, 0}, nil},        // 256-byte key exchange
		{[]byte{byte(TypeHello), 0x80, 0, 0, 0}, ErrOversize},   // 2 GiB hello
		{[]byte{byte(TypeData), 0, 0, 0, 0}, nil},               // empty body parses; Open rejects it
		{[]byte{byte(TypeData), 0, 1, 0, 0}, ErrOversize},       // 64 KiB
		{[]byte{byte(TypeData), 0, 0, 0xff, 0xff}, ErrOversize}, // just under 64 KiB
		{[]byte{byte(TypeHello), 0, 0, 0x10, 0x40, 0xaa}, nil},  // trailing bytes are the body's
		{[]byte{byte(TypeKeyExchange), 0x7f, 0xff, 0xff, 0xff}, ErrOversize},
	} {
		_, err := ParseHeader(tc.hdr)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("ParseHeader(%x) = %v, want %v", tc.hdr, err, tc.want)
		}
	}
}

// TestOversizeNotAllocated checks that a 4 GiB length is refused from the
// header alone: the reader must not read on (or allocate) for the body.
// Each reader makes its small buffer, and nothing more; the bytes
// allocated are averaged over many reads, so what other goroutines
// allocate meanwhile washes out.
func TestOversizeNotAllocated(t *testing.T) {
	const reads = 200
	hdr := []byte{0x17, 0xff, 0xff, 0xff, 0xff}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < reads; i++ {
		src := &countingReader{r: io.MultiReader(bytes.NewReader(hdr), endless{})}
		rr := recordReader{r: newReader(src)}
		if _, _, err := rr.next(); !errors.Is(err, ErrOversize) {
			t.Fatalf("got %v, want ErrOversize", err)
		}
		if rr.r.large != nil || src.reads != 1 {
			t.Fatalf("after a refused header: %d reads, large buffer %v", src.reads, rr.r.large != nil)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / reads; per > readBufferSize+1024 {
		t.Fatalf("%d bytes allocated per refused record", per)
	}
}

// countingReader counts the reads made of r.
type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

func TestHelloRoundTripAndPrefixes(t *testing.T) {
	key := testKey(t, "server-key.pem")
	for _, suite := range []SuiteID{SuiteAES128GCM, SuiteFixedIVGCM, SuiteCBCNoMAC} {
		body, err := MarshalHello(&key.PublicKey, suite)
		if err != nil {
			t.Fatal(err)
		}
		h, err := ParseHello(body)
		if err != nil || h.Suite != suite || h.PublicKey.N.Cmp(key.N) != 0 {
			t.Fatalf("round trip: %v", err)
		}
		for n := 0; n < len(body); n++ {
			if _, err := ParseHello(body[:n]); err == nil {
				t.Fatalf("prefix %d of a hello accepted", n)
			}
		}
	}
	other := testKey(t, "other-key.pem")
	body, _ := MarshalHello(&other.PublicKey, SuiteAES128GCM)
	h, err := ParseHello(body)
	if err != nil || h.Version != Version || !bytes.Equal(h.Random, body[6:6+RandomSize]) || !bytes.Equal(h.KeyDER, body[KeyOffset(Version):]) {
		t.Fatalf("version 2 fields: %+v %v", h, err)
	}
	body[4] = 3
	if _, err := ParseHello(body); !errors.Is(err, ErrBadHello) {
		t.Errorf("version 3 accepted: %v", err)
	}
	// Version 1 had no random. A dissector still reads it; Client
	// refuses it (TestClientRefusesVersion1).
	v1 := append([]byte("CLAB\x01\x01"), h.KeyDER...)
	if h1, err := ParseHello(v1); err != nil || h1.Version != 1 || h1.Random != nil || !h1.PublicKey.Equal(&other.PublicKey) {
		t.Errorf("version 1: %+v %v", h1, err)
	}
}

func TestReadLine(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"alice\n", "alice", nil},
		{"alice\r\n", "alice", nil},
		{"\n", "", nil},
		{"no newline", "", io.ErrUnexpectedEOF},
		{"", "", io.EOF},
		{strings.Repeat("x", MaxLine) + "\n", strings.Repeat("x", MaxLine), nil},
		{strings.Repeat("x", MaxLine+1) + "\n", "", ErrMessageTooLong},
		{strings.Repeat("x", 10*MaxLine), "", ErrMessageTooLong},
		{"caf\xc3\n", "", ErrNotUTF8},
		{"café\n", "café", nil},
	} {
		got, _, _, err := readLine(newReader(iotest.OneByteReader(strings.NewReader(tc.in))), MaxLine)
		if string(got) != tc.want || !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("readLine(%.20q) = %.20q, %v; want %.20q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	for _, v := range readVectors(f, vectorsPath) {
		for _, field := range []string{"hello-record", "key-exchange-record", "record"} {
			if b, err := hexField(v, field); err == nil && len(b) > 0 {
				f.Add(b)
			}
		}
	}
	f.Add([]byte{0x17, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, body, rest, err := ParseRecord(b)
		if err != nil {
			return
		}
		if int(h.Length) != len(body) || h.Length > MaxRecordBody || len(body)+len(rest)+RecordHeaderLen != len(b) {
			t.Fatalf("inconsistent parse: %v body=%d rest=%d", h, len(body), len(rest))
		}
		if !bytes.Equal(AppendRecord(nil, h.Type, body), b[:RecordHeaderLen+len(body)]) {
			t.Fatal("re-marshal differs")
		}
		if h.Type == TypeHello {
			ParseHello(body)
		}
	})
}

func FuzzReadLine(f *testing.F) {
	for _, seed := range seedLines(f, "testdata/lines.txt") {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		br := newReader(iotest.HalfReader(bytes.NewReader(b)))
		for {
			line, _, _, err := readLine(br, 64)
			if err != nil {
				return
			}
			if len(line) > 64 || bytes.ContainsAny(line, "\n") {
				t.Fatalf("bad line %q", line)
			}
		}
	})
}

func hexField(v vector, k string) ([]byte, error) {
	return hexDecode(v[k])
}

// seedLines reads a seed file: one input per line, with Go escapes, and
// lines starting with # left out.
func seedLines(t testing.TB, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		s, err := strconv.Unquote(`"` + strings.ReplaceAll(line, `"`, `\"`) + `"`)
		if err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
		out = append(out, s)
	}
	return out
}
