package chat

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"time"

	"chatlab/protocol"
)

// Server limits.
const (
	// DefaultQueueLimit is how many lines may wait for one member. A
	// member that stops reading fills its socket buffer first (hundreds of
	// KiB on loopback) and only then this. It is not small, because a
	// member that reads can fall behind too: when many members send at
	// once on few cores, the readers that broadcast keep the CPUs busy and
	// a writer may not run for a while (TestLoad, 50 members sending 200
	// lines each, saw thousands queued). Every queue shares the same line
	// strings, so an entry costs 16 bytes: 128 KiB for a full queue.
	DefaultQueueLimit = 8192

	// DefaultQueueBytes bounds the text waiting for one member. Lines are
	// shared between queues, so this is no allocation but a measure of
	// lag: a member a mebibyte behind is not keeping up, whatever the
	// line count says.
	DefaultQueueBytes = 1 << 20

	// DefaultMaxPending bounds connections that have not joined yet (in
	// the handshake or still to send a name). Each costs a goroutine and
	// a buffer, and in secure mode an RSA decryption. With this many
	// pending the server stops accepting until one joins or goes; the
	// kernel's backlog holds the rest, and members are not affected.
	DefaultMaxPending = 512

	// flushGrace is how long Shutdown waits for members to receive the
	// shutdown notice before it closes what is left.
	flushGrace = 100 * time.Millisecond

	// WriteTimeout bounds one batch write to a member.
	WriteTimeout = 10 * time.Second
)

// ShutdownNotice is the last line every member gets.
const ShutdownNotice = "* server is shutting down"

// SecureOnlyLine is what a secure server tells a plain-text peer before
// hanging up, so a person on netcat learns what happened.
const SecureOnlyLine = "chatlab: this server runs in secure mode; connect with: chat client --secure"

// Config configures a Server.
type Config struct {
	Mode Mode
	// Key is the server's RSA-2048 key, required in secure mode.
	Key *rsa.PrivateKey
	// Suite protects records; nil means AES-128-GCM. Lessons set a weak
	// suite here, never the chat command's defaults.
	Suite protocol.CipherSuite
	// Log receives one line per connection event; nil discards them.
	Log *log.Logger
	// QueueLimit and QueueBytes bound each member's queue in lines and in
	// bytes; zero means DefaultQueueLimit and DefaultQueueBytes.
	QueueLimit int
	QueueBytes int
	// MaxPending bounds connections not yet joined; zero means
	// DefaultMaxPending.
	MaxPending int
	// HandshakeTimeout and NameTimeout default to the protocol limits.
	HandshakeTimeout time.Duration
	NameTimeout      time.Duration
	// KeyLog, when set, gets a line for each member's secure session.
	KeyLog *protocol.KeyLogWriter
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("chat: server closed")

// Server is a chat server with one room.
type Server struct {
	cfg  Config
	room *room
	log  *log.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	pending   chan struct{} // one token per connection not yet joined
	done      chan struct{} // closed by Shutdown
	closing   bool
	wg        sync.WaitGroup
}

// NewServer checks cfg and returns a server that is not yet listening.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Mode == Secure && cfg.Key == nil {
		return nil, errors.New("chat: a secure server needs a key")
	}
	if cfg.QueueLimit <= 0 {
		cfg.QueueLimit = DefaultQueueLimit
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = DefaultQueueBytes
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = protocol.HandshakeTimeout
	}
	if cfg.NameTimeout <= 0 {
		cfg.NameTimeout = protocol.NameTimeout
	}
	logger := cfg.Log
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	return &Server{
		cfg:       cfg,
		room:      newRoom(),
		log:       logger,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[net.Conn]struct{}),
		pending:   make(chan struct{}, cfg.MaxPending),
		done:      make(chan struct{}),
	}, nil
}

// Members lists the names in the room, sorted.
func (s *Server) Members() []string { return s.room.names() }

// Serve accepts connections on ln until Shutdown. It always closes ln.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer ln.Close()

	var backoff time.Duration
	for {
		// Wait for room among the connections still joining.
		select {
		case s.pending <- struct{}{}:
		case <-s.done:
			return ErrServerClosed
		}
		c, err := ln.Accept()
		if err != nil {
			s.release()
			if s.isClosing() {
				return ErrServerClosed
			}
			// Out of file descriptors, say: wait and try again rather
			// than spin or give up on everyone else.
			wait, retry := RetryAccept(err, backoff)
			if !retry {
				return fmt.Errorf("chat: accept: %w", err)
			}
			backoff = wait
			s.log.Printf("accept: %v; retrying in %v", err, wait)
			select {
			case <-time.After(wait):
			case <-s.done:
				return ErrServerClosed
			}
			continue
		}
		backoff = 0
		if !s.track(c) {
			s.release()
			c.Close()
			return ErrServerClosed
		}
		go s.handle(c)
	}
}

// release gives back a pending token: the connection joined or went.
func (s *Server) release() { <-s.pending }

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// Shutdown stops accepting, tells every member the server is shutting
// down, closes every connection and waits for all of the server's
// goroutines to end, or for ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing {
		close(s.done)
	}
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()

	s.room.close(ShutdownNotice)

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	// Members flush their last line and close; connections still in the
	// handshake or naming step get a moment, then are cut off.
	select {
	case <-done:
		return nil
	case <-time.After(flushGrace):
	case <-ctx.Done():
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("chat: shutdown: %w", ctx.Err())
	}
}

// handle runs one connection from accept to close: handshake, name, then
// the reader loop.
func (s *Server) handle(c net.Conn) {
	defer s.untrack(c)
	defer c.Close()
	joined := sync.OnceFunc(s.release) // no longer pending: joined, or gone
	defer joined()
	peer := c.RemoteAddr().String()

	conn, err := s.open(c)
	if errors.Is(err, io.EOF) {
		s.log.Printf("%s: left during the handshake (a client that refuses the server's key does this)", peer)
		return
	}
	if err != nil {
		s.log.Printf("%s: %v", peer, err)
		return
	}
	c.SetReadDeadline(time.Now().Add(s.cfg.NameTimeout))
	name, err := conn.ReadMessage()
	c.SetReadDeadline(time.Time{})
	if errors.Is(err, io.EOF) {
		s.log.Printf("%s: left before sending a name", peer)
		return
	}
	if err != nil {
		s.log.Printf("%s: no name: %v", peer, err)
		return
	}
	if err := protocol.ValidName(name); err != nil {
		conn.WriteMessages(notice("error: " + err.Error() + "; reconnect with another name"))
		s.log.Printf("%s: refused name %q", peer, protocol.Sanitize(name))
		return
	}

	m := newMember(conn, s.cfg.QueueLimit, s.cfg.QueueBytes, WriteTimeout)
	given := s.room.join(name, m)
	joined()
	if given == "" {
		conn.WriteMessages(ShutdownNotice)
		return
	}
	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		m.writeLoop()
	}()
	defer writer.Wait()

	if given != name {
		m.send(notice("the name " + name + " is taken; you are " + given))
	}
	m.send(notice(fmt.Sprintf("you are %s; in the room: %s; /help lists commands", given, joinNames(s.room.names()))))
	s.log.Printf("%s: %s joined (%s)", peer, given, s.cfg.Mode)

	why := s.readLoop(conn, m, &given)
	s.room.leave(given, m, why)
	if reason, cut := strings.CutPrefix(why, "was disconnected: "); cut {
		// The member hears why it was cut off, if it can still hear.
		m.finish(notice("error: you were disconnected: " + reason))
	} else {
		m.finish()
	}
	s.log.Printf("%s: %s %s", peer, given, why)
}

// readLoop reads the member's lines until it quits or fails, and returns
// the notice text for its departure.
func (s *Server) readLoop(conn protocol.MessageConn, m *member, name *string) string {
	for {
		msg, err := conn.ReadMessage()
		if err != nil {
			switch {
			case m.isDropped():
				return "was disconnected: too slow to keep up"
			case errors.Is(err, io.EOF):
				return "left"
			case errors.Is(err, protocol.ErrBadRecord):
				return "was disconnected: bad record"
			case s.isClosing():
				return "left"
			}
			return "was disconnected: " + shortError(err)
		}
		if msg == "" {
			continue
		}
		if strings.HasPrefix(msg, "/") {
			if quit := s.command(msg, m, name); quit {
				m.send(notice("bye"))
				return "left"
			}
			continue
		}
		if len(msg) > protocol.MaxMessage {
			m.send(notice(fmt.Sprintf("error: message too long (%d bytes, the limit is %d)", len(msg), protocol.MaxMessage)))
			continue
		}
		line := *name + ": " + protocol.Sanitize(msg)
		if len(line) > protocol.MaxLine {
			// Control characters shown in caret or U+ notation grow the
			// text; past MaxLine no member could receive it.
			m.send(notice(fmt.Sprintf("error: message too long with its control characters shown (%d bytes, the limit is %d); send fewer control characters", len(line), protocol.MaxLine)))
			continue
		}
		s.room.broadcast(line, m)
	}
}

func shortError(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	if errors.Is(err, net.ErrClosed) {
		return "connection closed"
	}
	return strings.TrimPrefix(err.Error(), "protocol: ")
}

// open runs the handshake for the server's mode.
func (s *Server) open(c net.Conn) (protocol.MessageConn, error) {
	if s.cfg.Mode == Plain {
		pc := protocol.NewPlainConn(c)
		c.SetWriteDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
		if err := pc.WriteMessages(Banner); err != nil {
			return nil, err
		}
		c.SetWriteDeadline(time.Time{})
		return pc, nil
	}
	// The RSA decryption grows a goroutine's stack by several KiB, and a
	// grown stack stays with its goroutine. Running the handshake on a
	// goroutine that then exits keeps the member's long-lived reader small.
	type result struct {
		conn *protocol.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		conn, err := protocol.Server(c, protocol.ServerConfig{Key: s.cfg.Key, Suite: s.cfg.Suite, Timeout: s.cfg.HandshakeTimeout, KeyLog: s.cfg.KeyLog})
		done <- result{conn, err}
	}()
	r := <-done
	conn, err := r.conn, r.err
	if errors.Is(err, protocol.ErrPlainPeer) {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		c.Write([]byte(SecureOnlyLine + "\n"))
	}
	return conn, err
}
