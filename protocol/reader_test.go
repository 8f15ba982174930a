package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// burstSource hands out its chunks one per Read, each as far as p has
// room, as a socket does with what has arrived; an empty chunk is a
// moment with nothing waiting, when a read would block.
type burstSource struct {
	chunks [][]byte
	reads  int
	// blocked counts reads that came with nothing waiting, and the size
	// of the buffer each was made into.
	blocked []int
}

func (s *burstSource) Read(p []byte) (int, error) {
	s.reads++
	for len(s.chunks) > 0 && len(s.chunks[0]) == 0 {
		s.blocked = append(s.blocked, len(p))
		s.chunks = s.chunks[1:]
	}
	if len(s.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.chunks[0])
	if s.chunks[0] = s.chunks[0][n:]; len(s.chunks[0]) == 0 {
		s.chunks = s.chunks[1:]
	}
	return n, nil
}

func lines(n, size int, tag string) []byte {
	var b []byte
	for i := range n {
		line := []byte(tag + strings.Repeat("x", size-len(tag)-1) + "\n")
		line[len(tag)] = byte('a' + i%26)
		b = append(b, line...)
	}
	return b
}

// TestReaderBusyAndIdle follows one connection through quiet lines, a
// burst and quiet lines again: the burst is read 32 KiB per read from a
// borrowed buffer, which goes back to the pool before the next quiet
// read, so a connection waiting for its peer holds only its small buffer.
func TestReaderBusyAndIdle(t *testing.T) {
	quiet := lines(1, 100, "q")
	burst := lines(256, 1024, "b") // 256 KiB waiting at once
	src := &burstSource{chunks: [][]byte{quiet, {}, burst, {}, quiet, {}, quiet}}
	lend := NewReadBuffers()
	br := newReader(src)
	br.lend = lend
	read := 0
	for {
		line, err := br.readSlice('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		read++
		if len(line) != 100 && len(line) != 1024 {
			t.Fatalf("line %d is %d bytes", read, len(line))
		}
	}
	if read != 259 {
		t.Fatalf("read %d lines, want 259", read)
	}
	for i, size := range src.blocked {
		if size > readBufferSize {
			t.Errorf("wait %d for the peer was made with a %d-byte buffer, want at most %d", i+1, size, readBufferSize)
		}
	}
	if len(src.blocked) != 3 {
		t.Errorf("the reader waited %d times, want 3", len(src.blocked))
	}
	// The burst needs 256 KiB / 32 KiB = 8 large reads. Its lines end
	// where reads do, so each large read is followed by a small one (see
	// fill), and two small ones show the burst first; the quiet lines and
	// the end take a read each. With 2 KiB reads alone it would be 128.
	if max := 1 + (2 + 8 + 8) + 2 + 3; src.reads > max {
		t.Errorf("%d reads, want at most %d", src.reads, max)
	}
	if br.large != nil || len(br.buf) != readBufferSize {
		t.Errorf("after the burst the reader holds a %d-byte buffer (large %v)", len(br.buf), br.large != nil)
	}
}

// TestReaderKeepsLargeWithoutLender checks the other policy: a
// connection with no ReadBuffers to give back to keeps its large buffer.
func TestReaderKeepsLargeWithoutLender(t *testing.T) {
	src := &burstSource{chunks: [][]byte{lines(64, 1024, "b"), {}, lines(1, 100, "q")}}
	br := newReader(src)
	for {
		if _, err := br.readSlice('\n'); err != nil {
			break
		}
	}
	if br.large == nil || len(br.buf) != BusyReadBufferSize {
		t.Fatalf("a reader with no lender holds a %d-byte buffer after a burst", len(br.buf))
	}
}

// TestRecordsAcrossAnyReads reads the same records through reads split
// at random places, including inside headers, and in bursts that switch
// the buffer in the middle of a record.
func TestRecordsAcrossAnyReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var stream []byte
	var want [][]byte
	for range 300 {
		body := make([]byte, rng.IntN(MaxRecordBody+1))
		for j := range body {
			body[j] = byte(rng.Uint32())
		}
		want = append(want, body)
		stream = AppendRecord(stream, TypeData, body)
	}
	for trial := range 20 {
		var chunks [][]byte
		for rest := stream; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(3*BusyReadBufferSize/2))
			if trial%2 == 0 {
				n = min(len(rest), 1+rng.IntN(16))
			}
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
			if rng.IntN(4) == 0 {
				chunks = append(chunks, nil)
			}
		}
		br := newReader(&burstSource{chunks: chunks})
		br.lend = NewReadBuffers()
		rr := recordReader{r: br}
		for i, body := range want {
			_, got, err := rr.next()
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("trial %d, record %d: %v, %d bytes, want %d", trial, i, err, len(got), len(body))
			}
		}
		if _, _, err := rr.next(); err != io.EOF {
			t.Fatalf("trial %d: after the last record: %v", trial, err)
		}
	}
}

// timeoutOnce fails its first read after n bytes with a timeout, as a
// connection whose read deadline passed does, then reads on.
type timeoutOnce struct {
	r     io.Reader
	n     int
	fired bool
}

func (s *timeoutOnce) Read(p []byte) (int, error) {
	if !s.fired {
		if s.n == 0 {
			s.fired = true
			return 0, os.ErrDeadlineExceeded
		}
		p = p[:min(len(p), s.n)]
		n, err := s.r.Read(p)
		s.n -= n
		return n, err
	}
	return s.r.Read(p)
}

// TestRecordAfterTimeout: a deadline that passes inside a record loses
// none of it, so the record reads whole once the rest arrives.
func TestRecordAfterTimeout(t *testing.T) {
	body := bytes.Repeat([]byte("r"), 3000)
	rec := AppendRecord(nil, TypeData, body)
	for _, at := range []int{0, 2, RecordHeaderLen, 1000, len(rec) - 1} {
		rr := recordReader{r: newReader(&timeoutOnce{r: bytes.NewReader(rec), n: at})}
		if _, _, err := rr.next(); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("timeout at %d: %v", at, err)
		}
		_, got, err := rr.next()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("after a timeout at byte %d: %v, %d bytes", at, err, len(got))
		}
	}
}

// TestLongLineInParts: a line longer than the large buffer comes in
// parts, as from bufio, and is refused as too long from its first part;
// SkipLine then finds the next line.
func TestLongLineInParts(t *testing.T) {
	long := strings.Repeat("y", 3*BusyReadBufferSize) + "\n"
	br := newReader(strings.NewReader(long + "next\n"))
	first, err := br.readSlice('\n')
	if err != bufio.ErrBufferFull || len(first) != BusyReadBufferSize {
		t.Fatalf("first part: %d bytes, %v", len(first), err)
	}
	p := &PlainConn{br: newReader(strings.NewReader(long + "next\n"))}
	if _, err := p.ReadMessage(); !errors.Is(err, ErrMessageTooLong) {
		t.Fatalf("a %d-byte line: %v", len(long), err)
	}
	if n, err := p.SkipLine(); err != nil || n != len(long) {
		t.Fatalf("SkipLine = %d, %v; want %d", n, err, len(long))
	}
	if got, err := p.ReadMessage(); got != "next" || err != nil {
		t.Fatalf("after the long line: %q, %v", got, err)
	}
}

// TestReaderWaitsSmallAfterExactFill: a burst that ends exactly where a
// read fills the buffer leaves nothing unread, and the wait for the
// peer's next message is made with the small buffer, in lines and in
// records alike.
func TestReaderWaitsSmallAfterExactFill(t *testing.T) {
	exact := lines(2, readBufferSize/2, "q") // fills the small buffer exactly
	big := lines(BusyReadBufferSize/1024+32, 1024, "b")
	rec := AppendRecord(nil, TypeData, make([]byte, readBufferSize-RecordHeaderLen))
	for name, chunks := range map[string][][]byte{
		"lines":   {exact, {}, lines(1, 100, "q")},
		"burst":   {big[:BusyReadBufferSize+readBufferSize], {}, big[BusyReadBufferSize+readBufferSize:]},
		"records": {rec, {}, rec},
	} {
		src := &burstSource{chunks: chunks}
		br := newReader(src)
		br.lend = NewReadBuffers()
		if name == "records" {
			rr := recordReader{r: br}
			for {
				if _, _, err := rr.next(); err != nil {
					break
				}
			}
		} else {
			for {
				if _, err := br.readSlice('\n'); err != nil {
					break
				}
			}
		}
		for i, size := range src.blocked {
			if size > readBufferSize {
				t.Errorf("%s: wait %d for the peer was made with a %d-byte buffer", name, i+1, size)
			}
		}
	}
}
