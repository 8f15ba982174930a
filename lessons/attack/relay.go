package attack

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// DialTimeout bounds connecting to the upstream server. It is on
// loopback or a classroom network: a second is plenty, five is patient.
const DialTimeout = 5 * time.Second

// Wire receives every byte each client sends and receives, in order, as
// a sniffer on the path would see it. *sniff.Tap satisfies it.
type Wire interface {
	Data(client, server netip.AddrPort, fromClient bool, payload []byte)
}

// Config configures a Relay.
type Config struct {
	// Upstream is the real server's address.
	Upstream string
	// Mode is the framing: chat.Secure parses records, chat.Plain lines.
	Mode chat.Mode
	// Flips and Replays alter client records in transit.
	Flips   []Flip
	Replays []Replay
	// SwapKey makes the relay a man in the middle (secure mode only): it
	// completes the handshake with the client using Key, and with the
	// server as an ordinary client, so it reads and re-encrypts every
	// message both ways.
	SwapKey bool
	// Key is the relay's own RSA-2048 key for SwapKey.
	Key *rsa.PrivateKey
	// Suites are the suites the man in the middle accepts from the server;
	// nil means AES-128-GCM only.
	Suites []protocol.CipherSuite
	// Out receives the relay's report; nil discards it. If a Wire prints
	// to the same writer, wrap it with NewSyncWriter and give both the
	// result.
	Out io.Writer
	// Color colours the report.
	Color bool
	// ShowTraffic prints one line per record or line that passes, for
	// use without a Wire that dissects them.
	ShowTraffic bool
	// Wire, if set, is fed the bytes of the client's side of every
	// connection.
	Wire Wire
	// NumberRecords prints, before each client record or line reaches
	// the Wire, the number Flips and Replays use for it: a sniffer counts
	// every record both ways, and its numbers are not those.
	NumberRecords bool
	// Observe, if set, is called for every event, from the relay's
	// goroutines; it must be safe for concurrent use.
	Observe func(Event)
	// Dial connects upstream; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Relay is a running attacker between clients and one server.
type Relay struct {
	cfg Config
	out *printer

	// done is closed by Close, to cut short a wait between accepts.
	done chan struct{}

	mu     sync.Mutex
	lns    map[net.Listener]struct{}
	conns  map[net.Conn]struct{}
	closed bool
	nextID int
	wg     sync.WaitGroup
}

// ErrRelayClosed is returned by Serve after Close.
var ErrRelayClosed = errors.New("attack: relay closed")

// New checks cfg and returns a relay that is not yet listening.
func New(cfg Config) (*Relay, error) {
	if cfg.Upstream == "" {
		return nil, errors.New("attack: no upstream server address")
	}
	if cfg.SwapKey && cfg.Mode != chat.Secure {
		return nil, errors.New("attack: swapping keys needs secure mode; a plain chat has no key to swap")
	}
	if cfg.SwapKey && cfg.Key == nil {
		return nil, errors.New("attack: swapping keys needs the relay's own key")
	}
	if len(cfg.Suites) > 0 && !cfg.SwapKey {
		return nil, errors.New("attack: suites are for the man in the middle's handshake; without SwapKey the relay passes any suite through")
	}
	if cfg.SwapKey && (len(cfg.Flips) > 0 || len(cfg.Replays) > 0) {
		return nil, errors.New("attack: a man in the middle reads the plaintext; flips and replays are for the records of a relay that cannot")
	}
	for _, rp := range cfg.Replays {
		if rp.After < rp.Record {
			return nil, fmt.Errorf("attack: replay of record %d after record %d: it has not been seen yet", rp.Record, rp.After)
		}
	}
	if cfg.Dial == nil {
		cfg.Dial = (&net.Dialer{Timeout: DialTimeout}).DialContext
	}
	return &Relay{
		cfg:   cfg,
		out:   newPrinter(cfg.Out, cfg.Color),
		done:  make(chan struct{}),
		lns:   map[net.Listener]struct{}{},
		conns: map[net.Conn]struct{}{},
	}, nil
}

// Serve accepts clients on ln until Close, relaying each to the upstream
// server. A temporary accept error is reported and retried after a
// backoff; any other ends Serve. It always closes ln.
func (r *Relay) Serve(ln net.Listener) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		ln.Close()
		return ErrRelayClosed
	}
	r.lns[ln] = struct{}{}
	r.mu.Unlock()
	defer ln.Close()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if r.isClosed() {
				return ErrRelayClosed
			}
			wait, retry := chat.RetryAccept(err, backoff)
			if !retry {
				return fmt.Errorf("attack: accept: %w", err)
			}
			backoff = wait
			r.out.warnf("accept: %v; retrying in %v", err, backoff)
			if !r.pause(backoff) {
				return ErrRelayClosed
			}
			continue
		}
		backoff = 0
		id, ok := r.track(c)
		if !ok {
			c.Close()
			return ErrRelayClosed
		}
		go func() {
			defer r.untrack(c)
			r.handle(id, c)
		}()
	}
}

// Close stops accepting, cuts every connection and waits for the relay's
// goroutines to end.
func (r *Relay) Close() error {
	r.mu.Lock()
	if !r.closed {
		close(r.done)
	}
	r.closed = true
	for ln := range r.lns {
		ln.Close()
	}
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	return nil
}

// pause waits d, or until Close; it reports false if the relay closed.
func (r *Relay) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.done:
		return false
	}
}

func (r *Relay) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

func (r *Relay) track(c net.Conn) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, false
	}
	r.conns[c] = struct{}{}
	r.nextID++
	r.wg.Add(1)
	return r.nextID, true
}

// trackUpstream registers an upstream connection so Close can cut it.
func (r *Relay) trackUpstream(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

// untrack forgets a client connection whose handler has ended.
func (r *Relay) untrack(c net.Conn) {
	r.forget(c)
	r.wg.Done()
}

// forget drops c from the connections Close would cut.
func (r *Relay) forget(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}

// handle relays one client from connect to close.
func (r *Relay) handle(id int, client net.Conn) {
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), DialTimeout)
	up, err := r.cfg.Dial(ctx, "tcp", r.cfg.Upstream)
	cancel()
	if err != nil {
		why := err
		var oe *net.OpError
		if errors.As(err, &oe) {
			why = oe.Err // the address is in the line already
		}
		r.out.warnf("#%d cannot reach the server at %s: %v; is chat server running?", id, r.cfg.Upstream, why)
		r.emit(Event{Conn: id, Kind: Closed, Err: err})
		return
	}
	if !r.trackUpstream(up) {
		up.Close()
		return
	}
	defer func() {
		up.Close()
		r.forget(up)
	}()
	cs := &connState{id: id, client: addrPort(client.RemoteAddr()), server: addrPort(up.RemoteAddr())}
	r.out.infof("#%d client %s connected; relaying to %s", id, cs.client, cs.server)
	r.emit(Event{Conn: id, Kind: Connected})
	if r.cfg.SwapKey {
		err = r.intercept(cs, client, up)
	} else {
		err = r.relay(cs, client, up)
	}
	if err != nil {
		r.out.warnf("#%d %v", id, err)
	}
	r.out.infof("#%d closed", id)
	r.emit(Event{Conn: id, Kind: Closed, Err: err})
}

func (r *Relay) emit(e Event) {
	if r.cfg.Observe != nil {
		r.cfg.Observe(e)
	}
}

func (r *Relay) wire(cs *connState, fromClient bool, b []byte) {
	if r.cfg.Wire != nil && len(b) > 0 {
		r.cfg.Wire.Data(cs.client, cs.server, fromClient, b)
	}
}

// addrPort turns a TCP address into the form a Wire wants.
func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
