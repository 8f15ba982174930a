package bench

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// Flow control. The server drops a member whose queue overflows
// (chat.DefaultQueueLimit lines), so the sender keeps at most window
// messages ahead of the slowest receiver, and sends them batch at a time.
// The window is far below the limit: it is enough to keep every stage
// busy, and more would only add to the latency measured.
const (
	// batch is how many messages go out in one write, as a program that
	// has several lines to send would do. Receivers report progress once
	// per batch.
	batch  = 16
	window = 256
	// stallTimeout ends a run in which no message arrives for this long.
	stallTimeout = 30 * time.Second
)

// senderName and receiverPrefix name the members of a Room.
const (
	senderName     = "sender"
	receiverPrefix = "r"
)

// Room is a server with joined clients: the first member sends, all the
// others receive.
type Room struct {
	clients   []client
	shutdown  func() error // set when the room owns its server
	closeOnce sync.Once
}

// client is the lean load generator's view of a connection, the same for
// chatlab (a line reader in plain mode, chatlab's record layer in secure
// mode, neither sanitising nor parsing) and for the reference hub (the
// same line reader over TCP or TLS), so both servers are driven by
// clients of the same cost.
type client interface {
	SendBatch(lines ...string) error
	// ReadRawBytes returns the next line as it came; it is valid until
	// the next read, so a run allocates nothing per message on the
	// clients' side, on either server.
	ReadRawBytes() ([]byte, error)
	NetConn() net.Conn
	Close() error
}

// Delivery is what one Deliver measured.
type Delivery struct {
	// Delivered counts messages received, over all receivers.
	Delivered int64
	// Elapsed runs from the first send to the last receipt.
	Elapsed time.Duration
	// P50 and P99 are the delivery latencies.
	P50, P99 time.Duration
	// lat holds every message's latency, sorted.
	lat []time.Duration
}

// NewRoom starts a server on 127.0.0.1:0 and joins clients members to it.
// key is needed in secure mode.
func NewRoom(ctx context.Context, mode chat.Mode, key *rsa.PrivateKey, clients int) (*Room, error) {
	if clients < 2 {
		return nil, fmt.Errorf("bench: a room of %d: it needs a sender and a receiver", clients)
	}
	srv, addr, shutdown, err := startServer(mode, key)
	if err != nil {
		return nil, err
	}
	r, err := openRoom(ctx, mode, srv, addr, clients, nil)
	if err != nil {
		shutdown()
		return nil, err
	}
	r.shutdown = shutdown
	return r, nil
}

// NewRefRoom is NewRoom on the reference hub: plain TCP, or TLS 1.3 with
// an RSA-2048 certificate for key in secure mode.
func NewRefRoom(mode chat.Mode, key *rsa.PrivateKey, clients int) (*Room, error) {
	if clients < 2 {
		return nil, fmt.Errorf("bench: a room of %d: it needs a sender and a receiver", clients)
	}
	hub, addr, ccfg, err := startRef(mode, key)
	if err != nil {
		return nil, err
	}
	r, err := openRefRoom(context.Background(), addr, ccfg, clients, nil)
	if err != nil {
		hub.close()
		return nil, err
	}
	r.shutdown = hub.close
	return r, nil
}

// startRef starts the reference hub for mode, and returns the clients'
// TLS configuration (nil for TCP).
func startRef(mode chat.Mode, key *rsa.PrivateKey) (*refHub, string, *tls.Config, error) {
	var scfg, ccfg *tls.Config
	if mode == chat.Secure {
		var err error
		if scfg, ccfg, err = refTLS(key); err != nil {
			return nil, "", nil, err
		}
	}
	hub, addr, err := startRefHub(scfg)
	return hub, addr, ccfg, err
}

// openRefRoom joins clients members to the reference hub at addr.
func openRefRoom(ctx context.Context, addr string, cfg *tls.Config, clients int, p *progress) (*Room, error) {
	r := &Room{}
	for i := range clients {
		c, err := dialRef(ctx, addr, cfg, memberName(i))
		if err != nil {
			r.close()
			return nil, err
		}
		r.clients = append(r.clients, c)
		p.add(1)
	}
	return r, nil
}

func memberName(i int) string {
	if i == 0 {
		return senderName
	}
	return fmt.Sprintf("%s%d", receiverPrefix, i)
}

// openRoom joins clients members to srv, one after another, and waits
// until the server has them all.
func openRoom(ctx context.Context, mode chat.Mode, srv *chat.Server, addr string, clients int, p *progress) (*Room, error) {
	r := &Room{}
	for i := range clients {
		c, err := join(ctx, mode, addr, memberName(i))
		if err != nil {
			r.close()
			return nil, err
		}
		r.clients = append(r.clients, c)
		p.add(1)
	}
	if err := waitMembers(ctx, srv, clients); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// join dials, and reads up to the server's greeting, as the reference
// hub's clients join theirs: a dial without ctx (a loopback connect takes
// microseconds; ctx is checked first), the handshake, the name. The
// clients are the lean ones: in plain mode the line client the reference
// hub gets, after the banner; in secure mode chatlab's record layer after
// protocol.Client's handshake, where the reference's clients use
// crypto/tls.
func join(ctx context.Context, mode chat.Mode, addr, name string) (client, error) {
	nc, err := dialLoopback(ctx, addr)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(waitTimeout))
	defer nc.SetDeadline(time.Time{})
	var c client
	if mode == chat.Plain {
		lc := newLineClient(nc)
		if banner, err := lc.ReadRawBytes(); err != nil || string(banner) != chat.Banner {
			nc.Close()
			return nil, errors.Join(fmt.Errorf("bench: %s: no banner from a plain chatlab server: %q", name, banner), err)
		}
		if err := lc.SendBatch(name); err != nil {
			nc.Close()
			return nil, err
		}
		c = lc
	} else {
		// The name goes in the same write as the key exchange, as
		// chat.Dial sends it.
		conn, _, err := protocol.Client(nc, protocol.ClientConfig{Timeout: waitTimeout, First: []string{name}})
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("bench: %s: %w", name, err)
		}
		c = recordClient{conn}
	}
	// protocol.Client clears the deadline it set; the greeting gets one.
	nc.SetDeadline(time.Now().Add(waitTimeout))
	for {
		s, err := c.ReadRawBytes()
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("bench: %s got no greeting: %w", name, err)
		}
		if bytes.HasPrefix(s, []byte("* you are ")) {
			return c, nil
		}
	}
}

// Close disconnects the clients, and stops the server if the room
// started it.
func (r *Room) Close() error {
	r.close()
	if r.shutdown != nil {
		return r.shutdown()
	}
	return nil
}

func (r *Room) close() {
	r.closeOnce.Do(func() {
		for _, c := range r.clients {
			c.Close()
		}
	})
}

// Deliver has the sender send messages of size bytes, and waits until
// every receiver has them all. A message lost, repeated or out of order
// is an error: the numbers are only worth something if delivery is right.
func (r *Room) Deliver(ctx context.Context, messages, size int) (Delivery, error) {
	return r.deliver(ctx, messages, 0, size, nil)
}

// flight is the shared state of one delivery.
type flight struct {
	base     time.Time
	messages atomic.Int64 // how many are sent: set before the last batch when the run is timed
	duration time.Duration
	got      []atomic.Int64 // per receiver
	credit   chan struct{}  // poked when a receiver finishes a batch
	failed   chan struct{}  // closed at the first error
	unblock  func()         // cuts every receiver's read short
	mu       sync.Mutex
	err      error
}

// fail records the first error and stops the run.
func (f *flight) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
		close(f.failed)
		f.unblock()
	}
}

func (f *flight) firstError() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *flight) slowest() int64 {
	least := f.messages.Load()
	for i := range f.got {
		least = min(least, f.got[i].Load())
	}
	return least
}

// deliver sends messages, or, with messages 0, as many as fit in
// duration.
func (r *Room) deliver(ctx context.Context, messages int, duration time.Duration, size int, p *progress) (Delivery, error) {
	if size < MinSize {
		return Delivery{}, fmt.Errorf("bench: a %d-byte message has no room for the %d-byte stamp", size, MinSize)
	}
	receivers := r.clients[1:]
	f := &flight{
		base:     time.Now(),
		duration: duration,
		got:      make([]atomic.Int64, len(receivers)),
		credit:   make(chan struct{}, 1),
		failed:   make(chan struct{}),
	}
	f.messages.Store(int64(messages))
	if messages == 0 {
		f.messages.Store(math.MaxInt64)
	}
	f.unblock = func() {
		for _, c := range receivers {
			c.NetConn().SetReadDeadline(time.Now())
		}
	}
	lat := make([][]time.Duration, len(receivers))
	var wg sync.WaitGroup
	for i, c := range receivers {
		// Room for a short run's latencies; a long one grows the slice.
		// Reserving a huge count up front would make the allocator zero
		// gigabytes when the memory is reused.
		lat[i] = make([]time.Duration, 0, min(max(messages, 1024), 1<<16))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.receive(c, &f.got[i], &lat[i]); err != nil {
				f.fail(fmt.Errorf("bench: %s%d: %w", receiverPrefix, i+1, err))
			}
		}()
	}
	stopCancel := context.AfterFunc(ctx, func() { f.fail(ctx.Err()) })
	defer stopCancel()
	watchdog := make(chan struct{})
	go f.watch(watchdog)

	start := time.Now()
	if err := f.send(r.clients[0], size, p); err != nil {
		f.fail(err)
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(watchdog)
	if err := f.firstError(); err != nil {
		return Delivery{}, err
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	return Delivery{
		Delivered: int64(len(all)),
		Elapsed:   elapsed,
		P50:       all[len(all)/2],
		P99:       all[len(all)*99/100],
		lat:       all,
	}, nil
}

// send sends the messages, batch at a time, keeping within the window.
func (f *flight) send(c client, size int, p *progress) error {
	lines := make([]string, 0, batch)
	buf := make([]byte, size)
	for i := MinSize; i < size; i++ {
		buf[i] = 'x'
	}
	start := time.Now()
	for seq := int64(0); seq < f.messages.Load(); {
		for seq-f.slowest() > window-batch {
			select {
			case <-f.credit:
			case <-f.failed:
				return nil
			}
		}
		if f.duration > 0 && time.Since(start) >= f.duration {
			f.messages.Store(seq + batch) // this batch is the last
		}
		lines = lines[:0]
		for k := 0; k < batch && seq < f.messages.Load(); k++ {
			stamp(buf, uint64(seq), time.Since(f.base))
			lines = append(lines, string(buf))
			seq++
		}
		if err := c.SendBatch(lines...); err != nil {
			return fmt.Errorf("bench: %s: %w", senderName, err)
		}
		p.add(len(lines))
	}
	return nil
}

// receive reads until it has every message, checking that each comes in
// order, and records its latency.
func (f *flight) receive(c client, got *atomic.Int64, lat *[]time.Duration) error {
	for n := int64(0); n < f.messages.Load(); {
		s, err := c.ReadRawBytes()
		if err != nil {
			return fmt.Errorf("after %d messages: %w", n, err)
		}
		text, ok := bytes.CutPrefix(s, []byte(senderName+": "))
		if !ok {
			if bytes.HasPrefix(s, []byte("* ")) && bytes.Contains(s, []byte("disconnected")) {
				return fmt.Errorf("after %d messages: the server says %q", n, s)
			}
			continue
		}
		seq, sent, err := unstamp(text)
		if err != nil {
			return err
		}
		if seq != uint64(n) {
			return fmt.Errorf("message %d arrived when %d was due: delivery is broken", seq, n)
		}
		*lat = append(*lat, time.Since(f.base)-sent)
		n++
		got.Store(n)
		if n%batch == 0 || n == f.messages.Load() {
			select {
			case f.credit <- struct{}{}:
			default:
			}
		}
	}
	return nil
}

// watch fails the run if no receiver makes progress for stallTimeout.
func (f *flight) watch(done <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last int64 = -1
	lastMove := time.Now()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		var total int64
		for i := range f.got {
			total += f.got[i].Load()
		}
		if total != last {
			last, lastMove = total, time.Now()
			continue
		}
		if time.Since(lastMove) > stallTimeout {
			f.fail(fmt.Errorf("bench: no message arrived for %v; the server is stuck or a receiver was dropped", stallTimeout))
			return
		}
	}
}

// stampLen is the stamp at the front of every message: the sequence
// number and the send time in nanoseconds since the run began, as 16 hex
// digits each, each followed by a space.
const stampLen = 2 * (16 + 1)

func stamp(b []byte, seq uint64, at time.Duration) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], seq)
	hex.Encode(b[0:16], n[:])
	b[16] = ' '
	binary.BigEndian.PutUint64(n[:], uint64(at))
	hex.Encode(b[17:33], n[:])
	b[33] = ' '
}

func unstamp(s []byte) (seq uint64, at time.Duration, err error) {
	var n [8]byte
	if len(s) < stampLen || s[16] != ' ' || s[33] != ' ' {
		return 0, 0, fmt.Errorf("message %.40q carries no stamp", s)
	}
	if _, err := hex.Decode(n[:], s[0:16]); err != nil {
		return 0, 0, fmt.Errorf("message %.40q: bad stamp: %w", s, err)
	}
	seq = binary.BigEndian.Uint64(n[:])
	if _, err := hex.Decode(n[:], s[17:33]); err != nil {
		return 0, 0, fmt.Errorf("message %.40q: bad stamp: %w", s, err)
	}
	return seq, time.Duration(binary.BigEndian.Uint64(n[:])), nil
}
