package sniff

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"golang.org/x/sys/unix"
)

// Receive ring settings (TPACKET_V3: the kernel fills whole blocks of
// packets in memory shared with sniff, so reading costs no system call
// per packet and a slow moment costs no packet until the ring is full).
const (
	// DefaultBufferSize is the ring's size when LiveOptions leaves it
	// unset. tcpdump's 2 MiB lost 2.5% of a chat bench run on this kind
	// of machine; 32 MiB holds about 4 s of that load, far more than
	// any pause of the reading goroutine, and is kernel memory only
	// while sniff runs.
	DefaultBufferSize = 32 << 20
	// MinBufferSize is the smallest ring: two blocks of the largest
	// frame, so the kernel fills one while sniff reads the other.
	MinBufferSize = 2 * maxRingBlock
	// maxRingBlock is the largest block; a block holds at least one
	// frame of the largest loopback packet (a 64 KiB MTU plus headers).
	maxRingBlock = 1 << 20
	// minRingBlock is the smallest block: a 64 KiB loopback frame, its
	// Ethernet header and the kernel's per-packet header fit in it.
	minRingBlock = 128 << 10
	// ringBlocksWanted is how many blocks the ring is cut into when it
	// is big enough: enough that a block retired half empty by the
	// timeout wastes little of the ring.
	ringBlocksWanted = 256
	// ringBlockTimeout is how long the kernel fills a block before
	// handing it over half full, in milliseconds: the most a packet
	// waits before a person watching sees it.
	ringBlockTimeout = 20
	// blockHeaderOffset is where struct tpacket_hdr_v1 starts in a
	// block, after the block descriptor's version and private offset.
	blockHeaderOffset = 8
)

// ring is a mapped TPACKET_V3 receive ring and the cursor reading it.
// It is used by one goroutine at a time.
type ring struct {
	fd        int
	mem       []byte
	blockSize int
	blocks    int
	cur       int    // block being read
	held      bool   // cur is ours (TP_STATUS_USER) and not yet returned
	left      uint32 // packets of cur still to read
	next      int    // offset in cur of the next packet header
}

// ringGeometry cuts size bytes into blocks: a power of two between
// minRingBlock and maxRingBlock, about ringBlocksWanted of them.
func ringGeometry(size int) (blockSize, blocks int) {
	size = max(size, MinBufferSize)
	blockSize = minRingBlock
	for blockSize < maxRingBlock && size/(blockSize*2) >= ringBlocksWanted {
		blockSize *= 2
	}
	return blockSize, size / blockSize
}

// setupRing turns the unbound socket fd into a TPACKET_V3 ring of about
// size bytes and maps it.
func setupRing(fd, size int) (*ring, error) {
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return nil, fmt.Errorf("sniff: ask for TPACKET_V3: %w", err)
	}
	blockSize, blocks := ringGeometry(size)
	req := unix.TpacketReq3{
		Block_size:     uint32(blockSize),
		Block_nr:       uint32(blocks),
		Frame_size:     uint32(blockSize), // V3 packs frames of any size; this only has to divide the block
		Frame_nr:       uint32(blocks),
		Retire_blk_tov: ringBlockTimeout,
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, fmt.Errorf("sniff: make a %d MiB receive ring: %w", blockSize*blocks>>20, err)
	}
	mem, err := unix.Mmap(fd, 0, blockSize*blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("sniff: map the receive ring: %w", err)
	}
	return &ring{fd: fd, mem: mem, blockSize: blockSize, blocks: blocks}, nil
}

// status is the block status word of block i, shared with the kernel.
func (r *ring) status(i int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.mem[i*r.blockSize+blockHeaderOffset]))
}

// header is block i's struct tpacket_hdr_v1.
func (r *ring) header(i int) *unix.TpacketHdrV1 {
	return (*unix.TpacketHdrV1)(unsafe.Pointer(&r.mem[i*r.blockSize+blockHeaderOffset]))
}

// release gives the block being read back to the kernel and moves on.
func (r *ring) release() {
	if r.held {
		atomic.StoreUint32(r.status(r.cur), unix.TP_STATUS_KERNEL)
		r.held = false
		r.cur = (r.cur + 1) % r.blocks
	}
}

// take claims the current block if the kernel has handed it over.
func (r *ring) take() bool {
	if atomic.LoadUint32(r.status(r.cur))&unix.TP_STATUS_USER == 0 {
		return false
	}
	h := r.header(r.cur)
	r.held, r.left, r.next = true, h.Num_pkts, int(h.Offset_to_first_pkt)
	return true
}

// packet returns the next packet of the held block, or ok false when the
// block is spent. The data lives in the ring until release. A header
// that points outside its block (which the kernel never writes) ends the
// block rather than reading beyond it.
func (r *ring) packet() (data []byte, ci gopacket.CaptureInfo, ok bool) {
	if !r.held || r.left == 0 {
		return nil, ci, false
	}
	block := r.mem[r.cur*r.blockSize : (r.cur+1)*r.blockSize]
	if r.next < 0 || r.next+unix.SizeofTpacket3Hdr > len(block) {
		r.left = 0
		return nil, ci, false
	}
	h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&block[r.next]))
	start := r.next + int(h.Mac)
	end := start + int(h.Snaplen)
	if end > len(block) || start < r.next {
		r.left = 0
		return nil, ci, false
	}
	data = block[start:end:end]
	ci = gopacket.CaptureInfo{
		Timestamp:     time.Unix(int64(h.Sec), int64(h.Nsec)),
		CaptureLength: int(h.Snaplen),
		Length:        max(int(h.Len), int(h.Snaplen)),
	}
	r.left--
	if h.Next_offset == 0 {
		r.left = 0
	}
	r.next += int(h.Next_offset)
	return data, ci, true
}

// ready reports whether a packet can be read without waiting.
func (r *ring) ready() bool {
	if r.held && r.left > 0 {
		return true
	}
	i := r.cur
	if r.held {
		i = (r.cur + 1) % r.blocks
	}
	return atomic.LoadUint32(r.status(i))&unix.TP_STATUS_USER != 0
}

// close returns the mapping; the caller closes the socket.
func (r *ring) close() error {
	return unix.Munmap(r.mem)
}
