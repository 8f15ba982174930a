package chat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"chatlab/protocol"
)

// Errors a client returns when the two sides disagree on the mode. Their
// text names the flag that fixes it.
var (
	ErrServerIsPlain  = errors.New("chat: the server runs in plain mode; use --plain to talk to it, and nothing will be encrypted")
	ErrServerIsSecure = errors.New("chat: the server runs in secure mode; use --secure")
	ErrPinMismatch    = errors.New("chat: the server's fingerprint does not match --fingerprint")
	// ErrNotConfirmed means the server's first record did not open under
	// the session key, or never came: whatever answered did not get the
	// key, or could not use it.
	ErrNotConfirmed = errors.New("chat: the server did not confirm the session")
)

// PlainHello is what a plain client says to a server that turns out to be
// secure, before it leaves, so the server can log what happened.
const PlainHello = "chatlab plain client; this server is secure, so it leaves"

// ClientConfig configures Dial.
type ClientConfig struct {
	Mode Mode
	Addr string
	Name string
	// Fingerprint pins the server key ("SHA256:…"); empty means use Known.
	Fingerprint string
	// Known is the known-servers file for trust on first use; nil means
	// the key is not checked (tests and lessons that show the attack).
	Known *protocol.KnownServers
	// Suites are the cipher suites accepted; nil means AES-128-GCM only.
	Suites []protocol.CipherSuite
	// Dial opens the connection; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Timeout bounds connecting and the handshake; zero means
	// protocol.HandshakeTimeout.
	Timeout time.Duration
	// KeyLog, when set, gets a line for the secure session.
	KeyLog *protocol.KeyLogWriter
}

// Client is one member's connection to a server.
type Client struct {
	conn protocol.MessageConn
	// Fingerprint is the server key's fingerprint (secure mode).
	Fingerprint string
	// FirstUse is true when the fingerprint was just remembered.
	FirstUse bool
	// Suite is the cipher suite in use (secure mode).
	Suite protocol.SuiteID

	// first is the server's first line, which Dial reads to confirm a
	// secure session; Receive returns it first.
	first    string
	hasFirst bool

	wmu sync.Mutex // one writer at a time: Send may race with Quit
}

// Dial connects, runs the handshake for cfg.Mode and sends the name. A
// secure client sends nothing in the clear, and nothing at all before the
// server's key has passed the fingerprint checks.
func Dial(ctx context.Context, cfg ClientConfig) (*Client, error) {
	if err := protocol.ValidName(cfg.Name); err != nil {
		return nil, fmt.Errorf("chat: bad name %q: %v", cfg.Name, err)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = protocol.HandshakeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dial := cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	c, err := dial(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("chat: connect to %s: %w", cfg.Addr, err)
	}
	// Let ctx cut a slow handshake short.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	// A secure client's name goes in the handshake's last write.
	cl, err := handshake(c, cfg, timeout)
	if err == nil && cfg.Mode == Plain {
		if err = cl.conn.WriteMessages(cfg.Name); err != nil {
			err = fmt.Errorf("chat: send name: %w", err)
		}
	}
	if err == nil && cfg.Mode == Secure {
		err = cl.confirm(cfg.Addr)
	}
	if !stop() || err != nil {
		c.Close()
		if err == nil {
			err = fmt.Errorf("chat: handshake with %s: %w", cfg.Addr, ctx.Err())
		}
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return cl, nil
}

// confirm reads the server's first record, its answer to the name. Only a
// server that unwrapped the session key can seal a record that opens, so
// until one does, nothing says that the key exchange reached the server
// whose key was checked: a server that refused it just closes.
func (c *Client) confirm(addr string) error {
	line, err := c.conn.ReadMessage()
	if err != nil {
		return fmt.Errorf("%w (%s): %w", ErrNotConfirmed, addr, err)
	}
	c.first, c.hasFirst = line, true
	return nil
}

func handshake(c net.Conn, cfg ClientConfig, timeout time.Duration) (*Client, error) {
	if cfg.Mode == Plain {
		return plainHandshake(c, timeout)
	}
	cl := &Client{}
	conn, hello, err := protocol.Client(c, protocol.ClientConfig{
		Suites:  cfg.Suites,
		Timeout: timeout,
		KeyLog:  cfg.KeyLog,
		First:   []string{cfg.Name},
		Verify: func(h protocol.Hello) error {
			fp := protocol.FingerprintDER(h.KeyDER)
			cl.Fingerprint = fp
			if cfg.Fingerprint != "" {
				if fp != cfg.Fingerprint {
					return fmt.Errorf("%w\n    pinned:  %s\n    offered: %s", ErrPinMismatch, cfg.Fingerprint, fp)
				}
				return nil
			}
			if cfg.Known != nil {
				first, err := cfg.Known.Check(cfg.Addr, fp)
				cl.FirstUse = first
				return err
			}
			return nil
		},
	})
	switch {
	case errors.Is(err, protocol.ErrPlainPeer):
		return nil, ErrServerIsPlain
	case err != nil:
		return nil, fmt.Errorf("chat: secure handshake with %s: %w", cfg.Addr, err)
	}
	cl.conn = conn
	cl.Suite = hello.Suite
	return cl, nil
}

// plainHandshake reads the server's banner. A secure server's first byte
// is a hello record instead, which a plain client must refuse.
func plainHandshake(c net.Conn, timeout time.Duration) (*Client, error) {
	pc := protocol.NewPlainConn(c)
	c.SetReadDeadline(time.Now().Add(timeout))
	first, err := pc.Peek(1)
	if err != nil {
		return nil, fmt.Errorf("chat: no greeting from the server: %w", err)
	}
	if protocol.RecordType(first[0]) == protocol.TypeHello {
		// Say so before leaving: the server then logs a plain client,
		// not one that refused its key.
		c.SetWriteDeadline(time.Now().Add(timeout))
		c.Write([]byte(PlainHello + "\n"))
		return nil, ErrServerIsSecure
	}
	line, err := pc.ReadMessage()
	if err != nil {
		return nil, fmt.Errorf("chat: no greeting from the server: %w", err)
	}
	if line != Banner {
		return nil, fmt.Errorf("chat: the server's greeting is not chatlab's: %q", protocol.Sanitize(line))
	}
	return &Client{conn: pc}, nil
}

// Send sends one line: a message, or a command such as "/who".
func (c *Client) Send(line string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.conn.WriteMessages(line)
}

// SendBatch sends several lines in one write (benchmarks use it).
func (c *Client) SendBatch(lines ...string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.conn.WriteMessages(lines...)
}

// Receive returns the next line from the server. Text from the network is
// sanitised, so it is safe to print.
func (c *Client) Receive() (Line, error) {
	s, err := c.ReadRaw()
	if err != nil {
		return Line{}, err
	}
	return ParseLine(protocol.Sanitize(s)), nil
}

// ReadRaw returns the next line from the server as it came, not
// sanitised: for programs (benchmarks) that check it rather than show it.
func (c *Client) ReadRaw() (string, error) {
	b, err := c.ReadRawBytes()
	return string(b), err
}

// ReadRawBytes is ReadRaw without the copy, for benchmarks: the line
// points into the connection's buffers and is valid until the next read.
func (c *Client) ReadRawBytes() ([]byte, error) {
	if c.hasFirst {
		c.hasFirst = false
		return []byte(c.first), nil
	}
	return c.conn.ReadMessageBytes()
}

// Quit asks the server to let this member leave; the server answers "*
// bye" and closes, and Receive then returns io.EOF.
func (c *Client) Quit() error { return c.Send("/quit") }

// Close closes the connection at once.
func (c *Client) Close() error { return c.conn.Close() }

// NetConn is the connection underneath, for tests that misbehave on it.
func (c *Client) NetConn() net.Conn { return c.conn.NetConn() }
