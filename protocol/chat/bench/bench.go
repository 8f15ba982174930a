// Package bench measures the chat server: messages per second and MB/s
// delivered, delivery latency, the time to join (the handshake, in secure
// mode) and the server's memory per idle client. The server and every
// client run in this process, on 127.0.0.1, so a run needs no setup and
// measures the protocol and the server rather than a network.
//
// The chat bench command is a thin wrapper around Run, RunPair and the two
// printers; the Go benchmarks in package chat drive a Room directly.
package bench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// Defaults for the zero fields of Config.
const (
	// DefaultClients is one sender and one receiver: the pure cost of
	// moving a message through the server.
	DefaultClients = 2
	// DefaultDuration is how long the sender sends when no message count
	// is given: long enough that a run's rate repeats within a few per
	// cent on a busy two-core machine (a 0.16 s run swung by 20%).
	DefaultDuration = 2 * time.Second
	// DefaultSize is a 1 KiB message, the size the targets are set at.
	DefaultSize = 1024
	// DefaultHandshakes is how many joins are timed for the p50.
	DefaultHandshakes = 200
	// DefaultIdle is how many idle clients the memory cost is averaged
	// over: enough that the server's fixed costs wash out.
	DefaultIdle = 200
)

// MinSize is the shortest message the bench sends: the stamp it carries
// (a sequence number and the send time, 16 hex digits each, each followed
// by a space).
const MinSize = stampLen

// Config is one run in one mode.
type Config struct {
	// Mode is the server's and the clients' mode. On the reference hub,
	// plain is TCP and secure is TLS 1.3.
	Mode chat.Mode
	// Target is TargetChatlab (the default) or TargetRef, the reference
	// hub. Both are driven by the same lean clients.
	Target string
	// Key is the secure server's key; nil makes a throwaway RSA-2048 key.
	Key *rsa.PrivateKey
	// Clients is the number of members in the room while messages flow:
	// one sends, the others receive everything it sends. Zero means
	// DefaultClients; the least is 2.
	Clients int
	// Messages is how many messages the sender sends. Zero means as many
	// as it can in Duration.
	Messages int
	// Duration is how long the sender sends when Messages is zero; zero
	// means DefaultDuration.
	Duration time.Duration
	// Size is the message text in bytes, from MinSize to
	// protocol.MaxMessage. Zero means DefaultSize.
	Size int
	// Handshakes is how many joins are timed, one after another, before
	// the room fills. Zero means DefaultHandshakes; negative skips them.
	Handshakes int
	// Idle is how many idle clients join to measure the server's memory
	// per client. Zero means DefaultIdle; negative skips it.
	Idle int
	// Progress, if set, receives a one-line progress display that
	// redraws itself with "\r"; give it a terminal or nothing.
	Progress io.Writer
}

// Result is what one run measured. The JSON names are part of chat bench's
// output format.
type Result struct {
	Target   string `json:"target"`
	Mode     string `json:"mode"`
	Clients  int    `json:"clients"`
	Messages int    `json:"messages"`
	Size     int    `json:"size"`
	// Delivered is Messages times the receivers.
	Delivered int64   `json:"delivered"`
	Seconds   float64 `json:"seconds"`
	// MsgsPerSec and MBPerSec count delivered messages and their text
	// (1 MB = 10^6 bytes).
	MsgsPerSec float64 `json:"msgs_per_sec"`
	MBPerSec   float64 `json:"mb_per_sec"`
	// P50ms and P99ms are delivery latencies, from the sender's call to
	// the receiver's read, with the window of messages in flight.
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
	// HandshakeP50ms is the median time from connect to the server's
	// greeting: TCP, the handshake (secure mode) and the name.
	HandshakeP50ms float64 `json:"handshake_p50_ms"`
	// RSADecryptP50ms is the median of bare RSA-2048 OAEP decryptions,
	// timed in turns with the joins, ten of each (secure chatlab runs):
	// the floor under HandshakeP50ms, taken under the same conditions.
	RSADecryptP50ms float64 `json:"rsa_decrypt_p50_ms,omitempty"`
	// IdleClients is how many idle clients BytesPerIdleClient averages.
	IdleClients int `json:"idle_clients"`
	// BytesPerIdleClient is the growth of the server process's heap and
	// goroutine stacks in use, after a GC, per idle joined client.
	BytesPerIdleClient float64 `json:"bytes_per_idle_client"`
	// Rounds is how many runs the measures are medians of (see Median).
	Rounds int `json:"rounds"`
	// SpreadPct is half the range of MsgsPerSec over the rounds, in per
	// cent of the median: how far one round may stray.
	SpreadPct float64 `json:"spread_pct"`
	// RoundsMsgsPerSec is each round's MsgsPerSec, in order. The rounds
	// of RunPair's two servers pair up, so each pair gives a ratio.
	RoundsMsgsPerSec []float64 `json:"rounds_msgs_per_sec,omitempty"`
}

func (c *Config) fill() error {
	if c.Clients == 0 {
		c.Clients = DefaultClients
	}
	if c.Target == "" {
		c.Target = TargetChatlab
	}
	if c.Messages == 0 && c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.Handshakes == 0 {
		c.Handshakes = DefaultHandshakes
	}
	if c.Idle == 0 {
		c.Idle = DefaultIdle
	}
	switch {
	case c.Clients < 2:
		return fmt.Errorf("bench: %d clients: a run needs one sender and at least one receiver", c.Clients)
	case c.Messages < 0:
		return fmt.Errorf("bench: %d messages: send at least one", c.Messages)
	case c.Target != TargetChatlab && c.Target != TargetRef:
		return fmt.Errorf("bench: unknown target %q", c.Target)
	case c.Size < MinSize || c.Size > protocol.MaxMessage:
		return fmt.Errorf("bench: a %d-byte message: the size must be from %d (the stamp) to %d (the longest message)", c.Size, MinSize, protocol.MaxMessage)
	}
	return nil
}

// FDsNeeded is how many file descriptors a run of cfg holds at once: both
// ends of every client (of two rooms, when RunPair has both open), and a
// few for the listeners and the runtime.
func FDsNeeded(cfg Config) int {
	cfg.fill()
	return 2*max(2*cfg.Clients, cfg.Idle) + 16
}

// Run measures one mode on one server: it times the handshakes, measures
// the memory of idle clients, then fills the room and sends the messages.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.fill(); err != nil {
		return Result{}, err
	}
	rs, err := runSides(ctx, cfg, cfg.Target)
	if err != nil {
		return Result{}, err
	}
	return rs[0], nil
}

// RunPair measures one mode on chatlab and on the reference hub together.
// Each is set up as Run sets it up, its joins timed and (chatlab's) its
// idle clients measured; then both rooms stay open and take turns
// sending, a turn at a time, until each has sent for cfg.Duration. A
// shared machine's speed drifts from one second to the next, and this
// way both sides of a ratio are measured over the same stretch of time:
// alternating 100 ms turns, the chatlab/reference ratio of six 6-second
// runs spread over ±2%, where 2-second runs one after the other spread
// over ±6%. cfg.Target is ignored.
func RunPair(ctx context.Context, cfg Config) (chatlab, ref Result, err error) {
	if err := cfg.fill(); err != nil {
		return Result{}, Result{}, err
	}
	rs, err := runSides(ctx, cfg, TargetChatlab, TargetRef)
	if err != nil {
		return Result{}, Result{}, err
	}
	return rs[0], rs[1], nil
}

// Turns. A turn starts with the window of messages in flight filling and
// ends with it draining, while the writes are smaller than in the steady
// flow between. With one receiver that takes about a millisecond; it grows
// with the receivers (about 36 ms with 199, at 7,000 messages a second),
// so a turn grows with them too, and the two ends stay a small part of it.
const (
	minTurn         = 100 * time.Millisecond
	turnPerReceiver = 2500 * time.Microsecond
)

// turns is how RunPair's sides take turns: how many turns each gets, and
// how long each turn sends. The turns are equal and together last
// cfg.Duration: as many as fit at least minTurn (or turnPerReceiver per
// receiver) each, one if none do.
func turns(cfg Config) (n int, turn time.Duration) {
	least := max(minTurn, time.Duration(cfg.Clients-1)*turnPerReceiver)
	n = max(1, int(cfg.Duration/least))
	return n, cfg.Duration / time.Duration(n)
}

// side is one server being measured: its room, what it measured so far,
// and its latencies over all its turns.
type side struct {
	res   Result
	room  *Room
	close func() error
	lat   []time.Duration
	took  time.Duration // the turns' elapsed time, summed
}

func runSides(ctx context.Context, cfg Config, targets ...string) (results []Result, err error) {
	p := newProgress(cfg.Progress, cfg.Mode.String())
	defer p.stop()
	if cfg.Mode == chat.Secure && cfg.Key == nil {
		p.phase("making a throwaway RSA-2048 key", 0)
		key, err := rsa.GenerateKey(rand.Reader, protocol.RSABits)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		cfg.Key = key
	}
	var sides []*side
	defer func() {
		for _, s := range sides {
			if cerr := s.close(); err == nil {
				err = cerr
			}
		}
	}()
	for _, t := range targets {
		c := cfg
		c.Target = t
		open := openChatlab
		if t == TargetRef {
			open = openRef
		}
		s, err := open(ctx, c, p)
		if err != nil {
			return nil, err
		}
		sides = append(sides, s)
	}
	if err := deliverTurns(ctx, cfg, sides, p); err != nil {
		return nil, err
	}
	for _, s := range sides {
		s.finish(cfg)
		results = append(results, s.res)
	}
	return results, nil
}

// openChatlab starts chatlab's server, times its joins, measures its idle
// clients and fills its room.
func openChatlab(ctx context.Context, cfg Config, p *progress) (*side, error) {
	srv, addr, shutdown, err := startServer(cfg.Mode, cfg.Key)
	if err != nil {
		return nil, err
	}
	s := &side{res: newResult(cfg), close: shutdown}
	if err := s.prepare(ctx, cfg, srv, addr, p); err != nil {
		shutdown()
		return nil, err
	}
	return s, nil
}

func (s *side) prepare(ctx context.Context, cfg Config, srv *chat.Server, addr string, p *progress) error {
	if cfg.Handshakes > 0 {
		p.phase("chatlab: timing handshakes", cfg.Handshakes)
		var key *rsa.PrivateKey
		if cfg.Mode == chat.Secure {
			key = cfg.Key // the joins are timed in turns with bare decryptions
		}
		join, decrypt, err := timeJoins(cfg.Handshakes, key, p, func() (client, error) {
			return join(ctx, cfg.Mode, addr, "hs")
		})
		if err != nil {
			return err
		}
		s.res.HandshakeP50ms, s.res.RSADecryptP50ms = ms(join), ms(decrypt)
		if err := waitMembers(ctx, srv, 0); err != nil {
			return err
		}
	}
	if cfg.Idle > 0 {
		p.phase("chatlab: joining idle clients", cfg.Idle)
		b, err := idleCost(ctx, cfg.Mode, srv, addr, cfg.Idle, p)
		if err != nil {
			return err
		}
		s.res.IdleClients, s.res.BytesPerIdleClient = cfg.Idle, b
	}
	p.phase("chatlab: joining the room", cfg.Clients)
	room, err := openRoom(ctx, cfg.Mode, srv, addr, cfg.Clients, p)
	if err != nil {
		return err
	}
	s.room = room
	shutdown := s.close
	s.close = func() error {
		room.close()
		return shutdown()
	}
	return nil
}

// openRef starts the reference hub, times its joins and fills its room.
func openRef(ctx context.Context, cfg Config, p *progress) (*side, error) {
	hub, addr, ccfg, err := startRef(cfg.Mode, cfg.Key)
	if err != nil {
		return nil, err
	}
	s := &side{res: newResult(cfg), close: func() error { return hub.close() }}
	fail := func(err error) (*side, error) {
		hub.close()
		return nil, err
	}
	if cfg.Handshakes > 0 {
		p.phase("reference: timing handshakes", cfg.Handshakes)
		join, _, err := timeJoins(cfg.Handshakes, nil, p, func() (client, error) {
			return dialRef(ctx, addr, ccfg, "hs")
		})
		if err != nil {
			return fail(err)
		}
		s.res.HandshakeP50ms = ms(join)
	}
	p.phase("reference: joining the room", cfg.Clients)
	room, err := openRefRoom(ctx, addr, ccfg, cfg.Clients, p)
	if err != nil {
		return fail(err)
	}
	s.room = room
	s.close = func() error {
		room.close()
		return hub.close()
	}
	return s, nil
}

func newResult(cfg Config) Result {
	return Result{Target: cfg.Target, Mode: cfg.Mode.String(), Clients: cfg.Clients, Size: cfg.Size}
}

// deliverTurns sends in every side's room: cfg.Messages once in each, or,
// timed, in turns (see RunPair) until each has sent for cfg.Duration.
func deliverTurns(ctx context.Context, cfg Config, sides []*side, p *progress) error {
	return takeTurns(cfg, len(sides), func(i int, d time.Duration) error {
		s := sides[i]
		p.phase(s.res.Target+": sending", cfg.Messages)
		dl, err := s.room.deliver(ctx, cfg.Messages, d, cfg.Size, p)
		if err != nil {
			return fmt.Errorf("%w, on the %s server", err, s.res.Target)
		}
		s.res.Delivered += dl.Delivered
		s.took += dl.Elapsed
		s.lat = append(s.lat, dl.lat...)
		return nil
	})
}

// takeTurns calls deliver for sides 0 to n-1 in turn, with how long each
// turn sends (0 for a counted run, which is one turn each).
func takeTurns(cfg Config, n int, deliver func(side int, d time.Duration) error) error {
	each, turn := 1, cfg.Duration
	if cfg.Messages > 0 {
		turn = 0
	} else if n > 1 {
		each, turn = turns(cfg)
	}
	for range each {
		for i := range n {
			if err := deliver(i, turn); err != nil {
				return err
			}
		}
	}
	return nil
}

// finish works out the side's figures from its turns.
func (s *side) finish(cfg Config) {
	r := &s.res
	r.Messages = int(r.Delivered) / (cfg.Clients - 1)
	r.Seconds = s.took.Seconds()
	r.MsgsPerSec = float64(r.Delivered) / r.Seconds
	r.MBPerSec = float64(r.Delivered) * float64(cfg.Size) / r.Seconds / 1e6
	slices.Sort(s.lat)
	r.P50ms, r.P99ms = ms(s.lat[len(s.lat)/2]), ms(s.lat[len(s.lat)*99/100])
}

// wrapForTiming wraps a session key to key, for timeDecrypt.
func wrapForTiming(key *rsa.PrivateKey) ([]byte, error) {
	wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &key.PublicKey, make([]byte, protocol.SessionKeySize), nil)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return wrapped, nil
}

// timeDecrypt times one bare RSA-2048 OAEP decryption, the server's part
// of a join that no protocol around it can avoid.
func timeDecrypt(key *rsa.PrivateKey, wrapped []byte) (time.Duration, error) {
	start := time.Now()
	if _, err := rsa.DecryptOAEP(sha256.New(), nil, key, wrapped, nil); err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	return time.Since(start), nil
}

func median(times []time.Duration) time.Duration {
	slices.Sort(times)
	return times[len(times)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// shutdownGrace bounds the server's shutdown at the end of a run.
const shutdownGrace = 10 * time.Second

// startServer runs a server on 127.0.0.1:0; shutdown stops it.
func startServer(mode chat.Mode, key *rsa.PrivateKey) (*chat.Server, string, func() error, error) {
	srv, err := chat.NewServer(chat.Config{Mode: mode, Key: key})
	if err != nil {
		return nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, fmt.Errorf("bench: listen on loopback: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	shutdown := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		err := srv.Shutdown(ctx)
		if serr := <-served; err == nil && !errors.Is(serr, chat.ErrServerClosed) {
			err = serr
		}
		return err
	}
	return srv, ln.Addr().String(), shutdown, nil
}

// waitTimeout bounds every wait for the server to catch up: members
// joining or leaving, the greeting after a join.
const waitTimeout = 30 * time.Second

// waitMembers polls until the room holds n members.
func waitMembers(ctx context.Context, srv *chat.Server, n int) error {
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	for {
		got := len(srv.Members())
		if got == n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: the room holds %d members, %d expected: %w", got, n, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}
