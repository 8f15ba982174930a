package sniff

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// pcapHeader is a little-endian pcap file header.
func pcapHeader(snaplen, link uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, pcapMagicMicro)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = binary.LittleEndian.AppendUint32(b, snaplen)
	return binary.LittleEndian.AppendUint32(b, link)
}

// pcapRecord is a record header and its data.
func pcapRecord(caplen, wire uint32, data []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 1700000000)
	b = binary.LittleEndian.AppendUint32(b, 5)
	b = binary.LittleEndian.AppendUint32(b, caplen)
	b = binary.LittleEndian.AppendUint32(b, wire)
	return append(b, data...)
}

// ngBlock is a little-endian pcapng block of the given body.
func ngBlock(typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	b := binary.LittleEndian.AppendUint32(nil, typ)
	b = binary.LittleEndian.AppendUint32(b, n)
	b = append(b, body...)
	return binary.LittleEndian.AppendUint32(b, n)
}

func ngSection() []byte {
	body := binary.LittleEndian.AppendUint32(nil, ngByteOrder)
	body = append(body, 1, 0, 0, 0)
	body = append(body, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	return ngBlock(ngSHB, body)
}

// ngIface is an interface description, with an if_tsresol if tsresol >= 0.
func ngIface(link uint16, snaplen uint32, tsresol int) []byte {
	body := binary.LittleEndian.AppendUint16(nil, link)
	body = append(body, 0, 0)
	body = binary.LittleEndian.AppendUint32(body, snaplen)
	if tsresol >= 0 {
		body = append(body, ngOptTsresol, 0, 1, 0, byte(tsresol), 0, 0, 0)
	}
	return ngBlock(ngIDB, body)
}

func ngPacket(iface, caplen, wire uint32, data []byte) []byte {
	body := binary.LittleEndian.AppendUint32(nil, iface)
	body = append(body, 0, 0, 0, 0, 1, 0, 0, 0)
	body = binary.LittleEndian.AppendUint32(body, caplen)
	body = binary.LittleEndian.AppendUint32(body, wire)
	return ngBlock(ngEPB, append(body, data...))
}

// frame is one Ethernet TCP packet from the test captures.
func frame(t testing.TB) []byte {
	data, err := os.ReadFile("testdata/plain.pcap")
	if err != nil {
		t.Fatal(err)
	}
	caplen := binary.LittleEndian.Uint32(data[24+8:])
	return data[24+16 : 24+16+caplen]
}

// damagedCase is a damaged capture and what reading it must say.
type damagedCase struct {
	name    string
	data    []byte
	packets int    // read before the damage
	says    string // in the DamagedError; "" for a file read to its end
}

// damagedCases are the damage outside testers found in captures, each
// built here: the tool that wrote it need not exist.
func damagedCases(t testing.TB) []damagedCase {
	fr := frame(t)
	n := uint32(len(fr))
	good := pcapRecord(n, n, fr)
	return []damagedCase{
		{"pcap snaplen 0xffffffff", cat(pcapHeader(0xffffffff, 1), good, good), 2, ""},
		{"pcap caplen 0xffffffff", cat(pcapHeader(65535, 1), good, pcapRecord(0xffffffff, 0xffffffff, fr)), 1, "captured length of 4294967295"},
		{"pcap caplen beyond the file", cat(pcapHeader(65535, 1), good, pcapRecord(n+500, n+500, fr)), 1, "cut off in the middle of packet 2"},
		{"pcap cut in a record header", cat(pcapHeader(65535, 1), good, good[:9]), 1, "cut off in the middle of a packet header"},
		{"pcap wire length below caplen", cat(pcapHeader(65535, 1), pcapRecord(n, 10, fr)), 1, ""},
		{"pcapng if_tsresol 64 binary", cat(ngSection(), ngIface(1, 0, 0x80|64), ngPacket(0, n, n, fr)), 0, "timestamp resolution"},
		{"pcapng if_tsresol 64 decimal", cat(ngSection(), ngIface(1, 0, 64), ngPacket(0, n, n, fr)), 0, "timestamp resolution"},
		{"pcapng if_tsresol 63 binary", cat(ngSection(), ngIface(1, 0, 0x80|63), ngPacket(0, n, n, fr)), 1, ""},
		{"pcapng if_tsresol 19 decimal", cat(ngSection(), ngIface(1, 0, 19), ngPacket(0, n, n, fr)), 1, ""},
		{"pcapng snaplen 0xffffffff", cat(ngSection(), ngIface(1, 0xffffffff, -1), ngPacket(0, n, n, fr)), 1, ""},
		{"pcapng caplen 0xffffffff", cat(ngSection(), ngIface(1, 0, -1), ngPacket(0, 0xffffffff, n, fr)), 0, "captured length of 4294967295"},
		{"pcapng caplen beyond its block", cat(ngSection(), ngIface(1, 0, -1), ngPacket(0, n+64, n+64, fr)), 0, "its block holds only"},
		{"pcapng block beyond the file", cat(ngSection(), ngIface(1, 0, -1), ngPacket(0, n, n, fr)[:40]), 0, "cut off in the middle of a block"},
		{"pcapng block of 2 GB", cat(ngSection(), ngIface(1, 0, -1), []byte{6, 0, 0, 0, 0xf0, 0xff, 0xff, 0x7f, 0, 0, 0, 0}), 0, "more than any capture needs"},
		{"pcapng skipped block of 2 GB", cat(ngSection(), ngIface(1, 0, -1), []byte{5, 0, 0, 0, 0xf0, 0xff, 0xff, 0x7f, 0, 0, 0, 0}), 0, "cut off in the middle of a block of type 0x5"},
		{"pcapng block length 13", cat(ngSection(), []byte{1, 0, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0}), 0, "is impossible"},
		{"pcapng packet on no interface", cat(ngSection(), ngPacket(3, n, n, fr)), 0, "interface 3, which the file does not describe"},
		{"pcapng interface option too long", cat(ngSection(), ngBlock(ngIDB, []byte{1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 200, 0})), 0, "option (code 9) of 200 bytes"},
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// readAll reads a capture as -r does and returns how many segments Run
// showed and how it ended.
func readAll(data []byte) (int, error) {
	f, link, err := OpenFile(bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	stats, err := Run(context.Background(), f, link, Config{Out: io.Discard})
	n := 0
	for _, s := range stats {
		n += s.Packets
	}
	return n, err
}

// TestDamagedFiles reads each damaged capture as tcpdump does: every
// packet before the damage, then one DamagedError saying what it is.
func TestDamagedFiles(t *testing.T) {
	for _, c := range damagedCases(t) {
		t.Run(c.name, func(t *testing.T) {
			n, err := readAll(c.data)
			if c.says == "" {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
			} else {
				var dmg *DamagedError
				if !errors.As(err, &dmg) || !errors.Is(err, ErrDamaged) || !strings.Contains(dmg.Reason, c.says) {
					t.Fatalf("error %v, want damage saying %q", err, c.says)
				}
				if dmg.Packets != c.packets {
					t.Errorf("damage after %d packets, want %d", dmg.Packets, c.packets)
				}
			}
			if n != c.packets {
				t.Errorf("%d segments shown, want %d", n, c.packets)
			}
		})
	}
}

// idbReader streams a pcapng section with count interface blocks and no
// packet, without holding it.
type idbReader struct {
	head, idb []byte
	count     int
	buf       []byte
}

func (r *idbReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		switch {
		case r.head != nil:
			r.buf, r.head = r.head, nil
		case r.count > 0:
			r.buf = r.idb
			r.count--
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// manyInterfaces is the size of the meaningless-interface test: 1,000,000
// blocks of 20 bytes, the 20 MB file that took pcapgo 800 MB.
const manyInterfaces = 1000000

// TestManyInterfacesCostNoMemory reads a million interface descriptions:
// the memory in use stays at what a few thousand take.
func TestManyInterfacesCostNoMemory(t *testing.T) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapInuse
	r := &idbReader{head: ngSection(), idb: ngIface(1, 0, -1), count: manyInterfaces}
	f, _, err := OpenFile(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := f.ReadPacket(); err != io.EOF {
		t.Fatalf("error %v, want io.EOF", err)
	}
	if len(f.ifaces) > maxInterfaces || f.extraIfs != manyInterfaces-maxInterfaces {
		t.Fatalf("%d interfaces kept, %d counted", len(f.ifaces), f.extraIfs)
	}
	// What the reader keeps, after a collection: other tests of the
	// package may run alongside, so the growth is what counts.
	runtime.GC()
	runtime.ReadMemStats(&ms)
	grew := int64(ms.HeapInuse) - int64(before)
	runtime.KeepAlive(f)
	// Kept interfaces take 24 bytes each; the buffers 2 MB. Anything
	// near the 20 MB of input means memory grew with it.
	if grew > 16<<20 {
		t.Fatalf("%d MB kept after reading %d interfaces", grew>>20, manyInterfaces)
	}
}

// addressSpaceLimit is the limit the damaged cases must read under: a
// fraction of what a 0xffffffff length would take if it were believed.
const addressSpaceLimit = 1 << 30

// threadStack is the child's stack limit, which sizes its threads' stacks.
const threadStack = 1 << 20

// TestDamagedFilesUnderMemoryLimit reads every damaged case, and the
// million interfaces, in a child process limited to 1 GiB of address
// space (prlimit --as): an allocation of what a file claims, not of what
// it holds, kills the child.
func TestDamagedFilesUnderMemoryLimit(t *testing.T) {
	if os.Getenv("SNIFF_LIMIT_CHILD") == "1" {
		return // the child runs the tests by name instead
	}
	if raceEnabled {
		t.Skip("the race detector reserves more address space than the limit")
	}
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) is not installed")
	}
	// glibc reserves each thread's stack as the stack limit says (8 MiB
	// by default): a small one keeps a busy runtime's threads from
	// spending the address space the test is about.
	run := func() (string, error) {
		cmd := exec.Command(prlimit, "--as="+strconv.Itoa(addressSpaceLimit), "--stack="+strconv.Itoa(threadStack), os.Args[0],
			"-test.run=^(TestDamagedFiles|TestManyInterfacesCostNoMemory)$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "SNIFF_LIMIT_CHILD=1", "GOMAXPROCS=2")
		out, err := cmd.CombinedOutput()
		if err == nil && !(strings.Contains(string(out), "--- PASS: TestDamagedFiles") &&
			strings.Contains(string(out), "--- PASS: TestManyInterfacesCostNoMemory")) {
			err = errors.New("the tests did not pass")
		}
		return string(out), err
	}
	// An allocation of what a file claims fails every time. Once in a
	// while, on a loaded machine, the Go runtime's own reservation of
	// address space fails at a few MB in use; that is tried once more.
	out, err := run()
	if err != nil && strings.Contains(out, "fatal error: out of memory") {
		t.Logf("the child ran out of address space once; trying again:\n%.600s", out)
		out, err = run()
	}
	if err != nil {
		t.Fatalf("under a %d MB limit: %v\n%s", addressSpaceLimit>>20, err, out)
	}
}

// TestTimestampResolutions checks pcapng timestamps at the coarsest and
// finest resolutions, binary and decimal, without overflow.
func TestTimestampResolutions(t *testing.T) {
	for _, c := range []struct {
		res   tsResolution
		ts    uint64
		sec   int64
		nanos int
	}{
		{tsResolution{exp: 6}, 1700000000_123456, 1700000000, 123456000},
		{tsResolution{exp: 9}, 1700000000_123456789, 1700000000, 123456789},
		{tsResolution{exp: 0}, 1700000000, 1700000000, 0},
		{tsResolution{exp: 19}, 1<<64 - 1, 1, 844674407},
		{tsResolution{exp: 1, binary: true}, 3, 1, 500000000},
		{tsResolution{exp: 63, binary: true}, 1<<64 - 1, 1, 999999999},
		{tsResolution{exp: 0, binary: true}, 5, 5, 0},
	} {
		got := c.res.time(c.ts, 0)
		if got.Unix() != c.sec || got.Nanosecond() != c.nanos {
			t.Errorf("%+v of %d = %d.%09d, want %d.%09d", c.res, c.ts, got.Unix(), got.Nanosecond(), c.sec, c.nanos)
		}
	}
}

// FuzzReadFile reads arbitrary bytes as a capture, through Run: nothing
// may panic, and every failure is one of the reader's errors.
func FuzzReadFile(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.pcap")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, c := range damagedCases(f) {
		f.Add(c.data)
	}
	fr := frame(f)
	n := uint32(len(fr))
	f.Add(cat(ngSection(), ngIface(1, 0, -1), ngIface(113, 0, 9), ngPacket(0, n, n, fr), ngPacket(1, 20, n, fr[:20])))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := readAll(data)
		if err != nil && !errors.Is(err, ErrNotCapture) && !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrLinkType) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
