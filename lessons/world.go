package lessons

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"chatlab/lessons/attack"
	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// talkTimeout bounds one exchange of messages in a scenario. On loopback
// it takes milliseconds; anything near this means something is stuck.
const talkTimeout = 5 * time.Second

// shutdownTimeout bounds stopping a scenario's server.
const shutdownTimeout = 2 * time.Second

// worldConfig describes one scenario's loopback.
type worldConfig struct {
	mode chat.Mode
	// suite is a weak suite for lessons 3, 4 and 6; nil means the default.
	suite protocol.CipherSuite
	// key is the server key; nil means a new one.
	key *rsa.PrivateKey
	// attack, if set, puts an attacker relay between clients and server.
	attack *attack.Config
	eaves  *eavesdropper
}

// world is a running server, perhaps an attacker, and an eavesdropper.
type world struct {
	env      *Env
	cfg      worldConfig
	key      *rsa.PrivateKey
	srv      *chat.Server
	srvAddr  string
	relay    *attack.Relay
	dialAddr string
	served   chan error
	relayed  chan error
	// unwatch forgets the connections closeOnDone watches; close calls it.
	unwatch []func() bool
}

// newWorld starts the server (and relay) on 127.0.0.1:0.
func (e *Env) newWorld(cfg worldConfig) (*world, error) {
	w := &world{env: e, cfg: cfg, key: cfg.key}
	if cfg.mode == chat.Secure && w.key == nil {
		var err error
		if w.key, err = e.serverKey(); err != nil {
			return nil, err
		}
	}
	srv, err := chat.NewServer(chat.Config{Mode: cfg.mode, Key: w.key, Suite: cfg.suite})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lessons: listen: %w", err)
	}
	w.srv, w.srvAddr, w.dialAddr = srv, ln.Addr().String(), ln.Addr().String()
	w.served = make(chan error, 1)
	go func() { w.served <- srv.Serve(ln) }()

	ev := cfg.eaves
	acfg := cfg.attack
	if acfg == nil && ev != nil && !ev.capture {
		// A transparent relay as the tap: it stands for the wire, so it
		// says nothing of its own, as a live capture would not.
		acfg = &attack.Config{Out: io.Discard}
	}
	if acfg != nil {
		c := *acfg
		c.Upstream, c.Mode = w.srvAddr, cfg.mode
		if c.Out == nil {
			c.Out = e.Out
		}
		c.Color = e.Color
		if ev != nil && !ev.capture {
			c.Wire = ev
		}
		r, err := attack.New(c)
		if err != nil {
			w.close()
			return nil, err
		}
		rln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			w.close()
			return nil, fmt.Errorf("lessons: listen: %w", err)
		}
		w.relay, w.dialAddr = r, rln.Addr().String()
		w.relayed = make(chan error, 1)
		go func() { w.relayed <- r.Serve(rln) }()
	}
	if ev != nil && ev.capture {
		_, port, _ := net.SplitHostPort(w.dialAddr)
		var p uint16
		fmt.Sscan(port, &p)
		ev.watchPort(p)
	}
	return w, nil
}

// closeOnDone closes c when ctx is done, so a member waiting for a line
// lets go at once when the lesson is stopped.
func (w *world) closeOnDone(ctx context.Context, c net.Conn) {
	w.unwatch = append(w.unwatch, context.AfterFunc(ctx, func() { c.Close() }))
}

// close stops the relay and the server.
func (w *world) close() {
	for _, stop := range w.unwatch {
		stop()
	}
	if w.relay != nil {
		w.relay.Close()
		<-w.relayed
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	w.srv.Shutdown(ctx)
	<-w.served
}

// clientOpts adjust a client.
type clientOpts struct {
	suites      []protocol.CipherSuite
	fingerprint string
	known       *protocol.KnownServers
	direct      bool // bypass any relay
	// keyLog, if set, gets the session key of this member's session, as
	// CHATLAB_KEYLOGFILE would.
	keyLog *protocol.KeyLogWriter
}

// dial connects a member. It names the server's real address, as a person
// would, while its packets go to the relay if there is one: the attacker
// sits on the path.
func (w *world) dial(ctx context.Context, name string, o clientOpts) (*chat.Client, error) {
	target := w.dialAddr
	if o.direct {
		target = w.srvAddr
	}
	return chat.Dial(ctx, chat.ClientConfig{
		Mode: w.cfg.mode, Addr: w.srvAddr, Name: name,
		Fingerprint: o.fingerprint, Known: o.known, Suites: o.suites, KeyLog: o.keyLog,
		Dial: func(dctx context.Context, network, _ string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(dctx, network, target)
			if err == nil {
				w.closeOnDone(ctx, c)
			}
			if err == nil && w.cfg.eaves != nil && !o.direct {
				if ap, perr := netip.ParseAddrPort(c.LocalAddr().String()); perr == nil {
					w.cfg.eaves.rec.expect(ap)
				}
			}
			return c, err
		},
	})
}

// expect reads lines until one satisfies ok, skipping the rest, and
// returns it; it gives up after talkTimeout.
func expect(c *chat.Client, ok func(chat.Line) bool) (chat.Line, error) {
	c.NetConn().SetReadDeadline(time.Now().Add(talkTimeout))
	defer c.NetConn().SetReadDeadline(time.Time{})
	for {
		l, err := c.Receive()
		if err != nil {
			return chat.Line{}, err
		}
		if ok(l) {
			return l, nil
		}
	}
}

// from matches a message from name.
func from(name string) func(chat.Line) bool {
	return func(l chat.Line) bool { return !l.Notice && l.From == name }
}

// noticeContaining matches a notice with s in it.
func noticeContaining(s string) func(chat.Line) bool {
	return func(l chat.Line) bool { return l.Notice && strings.Contains(l.Text, s) }
}

// joined waits until bob hears that name joined, so name's messages
// will reach him.
func joined(bob *chat.Client, name string) error {
	_, err := expect(bob, noticeContaining(name+" joined"))
	return err
}

// leave quits and reads until the server closes the connection, so the
// whole conversation, FINs included, has crossed the wire.
func leave(c *chat.Client) {
	if c.Quit() == nil {
		c.NetConn().SetReadDeadline(time.Now().Add(talkTimeout))
		for {
			if _, err := c.Receive(); err != nil {
				break
			}
		}
	}
	c.Close()
}

// say has alice send each line and waits until bob has received each,
// returning what bob read.
func say(alice, bob *chat.Client, msgs ...string) ([]string, error) {
	var got []string
	for _, m := range msgs {
		if err := alice.Send(m); err != nil {
			return got, fmt.Errorf("lessons: alice could not send: %w", err)
		}
		l, err := expect(bob, from("alice"))
		if err != nil {
			return got, fmt.Errorf("lessons: bob did not receive alice's message: %w", err)
		}
		got = append(got, l.Text)
	}
	return got, nil
}

// isClosed reports errors that mean the connection was closed on us.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, protocol.ErrBadRecord) ||
		strings.Contains(err.Error(), "connection reset")
}

// serverKey is the lesson's server key, made once: RSA key generation
// takes from a few milliseconds to a second, and one is enough.
func (e *Env) serverKey() (*rsa.PrivateKey, error) {
	if e.key == nil {
		key, err := rsa.GenerateKey(rand.Reader, protocol.RSABits)
		if err != nil {
			return nil, fmt.Errorf("lessons: server key: %w", err)
		}
		e.key = key
	}
	return e.key, nil
}
