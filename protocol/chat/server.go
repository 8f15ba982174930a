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
	// DefaultQueueLimit is how many lines may wait for one member before
	// it is dropped. A sender waits long before that (WaitLines), so only
	// many members sending at once, each adding a line past the wait
	// mark, come near it. Every queue shares the same line strings, so an
	// entry costs 16 bytes: 64 KiB for a full queue.
	DefaultQueueLimit = 4096

	// DefaultQueueBytes bounds the text waiting for one member, in the
	// same way: past it the member is dropped.
	DefaultQueueBytes = 1 << 20

	// WaitLines and WaitBytes are the wait mark: once a member has this
	// much queued, whoever sends to the room waits for that member's
	// writer before reading its next line. A member who sends faster
	// than the room can take is so slowed to the pace of the slowest
	// reader, and no reader is dropped for someone else's flood. The
	// lines are shared by every queue, so the mark costs a member only
	// its entries (16 bytes each, 16 KiB at most); it is high enough that
	// a reader keeping up never makes a sender wait.
	WaitLines = 1024
	WaitBytes = 256 << 10

	// DefaultMaxPending bounds connections that have not joined yet (in
	// the handshake or still to send a name). Each costs a goroutine and
	// a buffer, and in secure mode an RSA decryption. With this many
	// pending, a new connection makes the server close the oldest quiet
	// one (see admit), so a flood of them never keeps a client out.
	DefaultMaxPending = 512

	// flushGrace is how long Shutdown waits for members to receive the
	// shutdown notice before it closes what is left.
	flushGrace = 100 * time.Millisecond

	// WriteTimeout bounds one write to a member: a member whose write
	// has not gone through in this long is too slow, and is dropped. A
	// write is at most 32 KiB, which a client that reads at all takes in
	// far less.
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
	// HandshakeTimeout, QuietNameTimeout and NameTimeout default to the
	// protocol limits.
	HandshakeTimeout time.Duration
	QuietNameTimeout time.Duration
	NameTimeout      time.Duration
	// KeyLog, when set, gets a line for each member's secure session.
	KeyLog *protocol.KeyLogWriter
	// WriteTimeout bounds one write to a member; zero means WriteTimeout.
	WriteTimeout time.Duration
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("chat: server closed")

// Server is a chat server with one room.
type Server struct {
	cfg  Config
	room *room
	log  *log.Logger

	// first is what a plain server sends every connection first: the
	// banner. It is never changed. A secure one sends each connection a
	// hello of its own (Handshaker.NewHello).
	first []byte
	// pools hold the members' write buffers, so a member between bursts
	// holds none.
	pools *writePools
	// reads lends the members' connections their large read buffers
	// while they read a burst.
	reads *protocol.ReadBuffers
	// handshaker runs the secure handshakes (nil in plain mode).
	handshaker *protocol.Handshaker

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	pending   []*joining    // connections not yet joined, oldest first
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
	if cfg.QuietNameTimeout <= 0 {
		cfg.QuietNameTimeout = min(protocol.QuietNameTimeout, cfg.NameTimeout)
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = WriteTimeout
	}
	logger := cfg.Log
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	s := &Server{
		cfg:       cfg,
		room:      newRoom(),
		log:       logger,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[net.Conn]struct{}),
		done:      make(chan struct{}),
		reads:     protocol.NewReadBuffers(),
		first:     []byte(Banner + "\n"),
		pools:     newWritePools(),
	}
	if cfg.Mode == Secure {
		h, err := protocol.NewHandshaker(protocol.ServerConfig{Key: cfg.Key, Suite: cfg.Suite, Timeout: cfg.HandshakeTimeout, KeyLog: cfg.KeyLog})
		if err != nil {
			return nil, fmt.Errorf("chat: %w", err)
		}
		s.handshaker = h
	}
	return s, nil
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
		c, err := ln.Accept()
		if err != nil {
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
			c.Close()
			return ErrServerClosed
		}
		j := &joining{Conn: c, since: time.Now(), nameTimeout: s.cfg.NameTimeout}
		if old := s.admit(j); old != nil {
			s.log.Printf("%s: closed while joining, to make room: %d connections were joining", old.RemoteAddr(), s.cfg.MaxPending)
		}
		j.first = s.first
		if s.handshaker != nil {
			j.first = s.handshaker.NewHello()
		}
		j.firstSent, j.firstErr = s.sendFirst(c, j.first)
		go s.handle(c, j)
	}
}

// sendFirst writes the server's first bytes, the hello or the banner, to
// a TCP connection the moment it is accepted, so that the client has them
// without waiting for the join's goroutine to be started and scheduled. It
// writes what the socket takes at once and never waits, so it never holds
// up the accept loop: a new connection's empty send buffer takes them
// all, and whatever it does not take, its join's goroutine sends, under
// the handshake's deadline, as it sends all of them to any other kind of
// connection. It reports how many bytes it wrote.
func (s *Server) sendFirst(c net.Conn, first []byte) (int, error) {
	return newSocketWriter(c).writeNow(first)
}

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

// handle runs one connection's join: the handshake, the name and the
// greeting, all on this goroutine, so nothing waits for a hand-over
// between goroutines before the greeting is on its way. It then gives the
// member to a reader and a writer goroutine of their own, and ends: the
// stack that the RSA decryption grew goes with it, and does not stay with
// every member.
func (s *Server) handle(c net.Conn, j *joining) {
	peer := c.RemoteAddr().String()
	m, name, ok := s.join(c, j, peer)
	if !ok {
		c.Close()
		s.untrack(c)
		return
	}
	go s.serve(c, m, name, peer)
}

// join takes a connection from accept to a member in the room, and
// writes it its greeting. It logs why when it fails.
func (s *Server) join(c net.Conn, j *joining, peer string) (*member, string, bool) {
	joined := sync.OnceFunc(func() { s.joined(j) }) // no longer pending: joined, or gone
	defer joined()

	conn, err := s.open(j)
	switch {
	case err != nil && j.evicted.Load():
		return nil, "", false // admit logged it
	case errors.Is(err, io.EOF):
		s.log.Printf("%s: left during the handshake, having sent nothing (a secure client that refuses the server's key does this)", peer)
		return nil, "", false
	case errors.Is(err, protocol.ErrPlainPeer):
		s.log.Printf("%s: a plain-mode client at this secure server; told it to use --secure, and closed", peer)
		return nil, "", false
	case err != nil:
		s.log.Printf("%s: %v", peer, err)
		return nil, "", false
	}
	// A connection that sends nothing gets the quiet deadline; the first
	// byte of its name moves it to the long one (joining.Read).
	j.naming.Store(true)
	c.SetReadDeadline(j.since.Add(s.cfg.QuietNameTimeout))
	if j.typing.Load() {
		c.SetReadDeadline(j.since.Add(s.cfg.NameTimeout))
	}
	name, err := conn.ReadMessage()
	joined()
	c.SetReadDeadline(time.Time{})
	switch {
	case err != nil && j.evicted.Load():
		return nil, "", false
	case errors.Is(err, io.EOF):
		s.log.Printf("%s: left before sending a name", peer)
		return nil, "", false
	case err != nil && isTimeout(err) && !j.typing.Load():
		s.log.Printf("%s: sent no name in %v; closed", peer, s.cfg.QuietNameTimeout)
		return nil, "", false
	case err != nil:
		s.log.Printf("%s: no name: %v", peer, err)
		return nil, "", false
	}
	if err := protocol.ValidName(name); err != nil {
		conn.WriteMessages(notice("error: " + err.Error() + "; reconnect with another name"))
		s.log.Printf("%s: refused name %q", peer, protocol.Sanitize(name))
		return nil, "", false
	}

	m := newMember(conn, c, s.pools, s.limits(), s.cfg.WriteTimeout)
	given := s.room.join(name, m)
	if given == "" {
		conn.WriteMessages(ShutdownNotice)
		return nil, "", false
	}
	// The member's writer has not started, so this goroutine may write:
	// the greeting goes first, then whatever the room queued meanwhile.
	// It goes out as every later line does (writeBatch), so the member
	// keeps no buffer of its own for it.
	var greeting []string
	if given != name {
		greeting = append(greeting, notice("the name "+name+" is taken; you are "+given))
	}
	greeting = append(greeting, notice(fmt.Sprintf("you are %s; in the room: %s; /help lists commands", given, joinNames(s.room.names()))))
	c.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	_, err = m.writeBatch(greeting)
	c.SetWriteDeadline(time.Time{})
	if err != nil {
		why := "was disconnected: " + shortError(err)
		s.room.leave(given, m, why)
		// No writer will ever take its queue: end it, so a sender
		// waiting for it to drain goes on.
		m.end()
		s.log.Printf("%s: %s joined (%s) and %s before its greeting was written", peer, given, s.cfg.Mode, why)
		return nil, "", false
	}
	s.log.Printf("%s: %s joined (%s)", peer, given, s.cfg.Mode)
	return m, given, true
}

// serve runs a member from its greeting to its leaving: its writer on a
// goroutine of its own, its reader on this one.
func (s *Server) serve(c net.Conn, m *member, given, peer string) {
	defer s.untrack(c)
	defer c.Close()
	var writer sync.WaitGroup
	writer.Go(m.writeLoop)
	defer writer.Wait()

	why := s.readLoop(m.conn, m, &given, peer)
	s.room.leave(given, m, why)
	if reason, cut := strings.CutPrefix(why, "was disconnected: "); cut {
		// The member hears why it was cut off, if it can still hear.
		m.finish(notice("error: you were disconnected: " + reason))
	} else {
		m.finish()
	}
	s.log.Printf("%s: %s %s", peer, given, why)
}

// groupLines is the most lines a member's reader gathers before it
// passes them to the room. Lines that came together go on together, so
// a busy sender costs each other member one queueing, and one write, per
// group rather than per line.
const groupLines = 32

// readLoop reads the member's lines until it quits or fails, and returns
// the notice text for its departure.
func (s *Server) readLoop(conn protocol.MessageConn, m *member, name *string, peer string) string {
	var group []string // lines read, not yet passed to the room
	for {
		msg, err := conn.ReadMessageBytes()
		if err != nil {
			group = s.pass(group, m)
		}
		if err != nil && !m.isDropped() && !s.isClosing() {
			if n, ok := skipLongLine(conn, err); ok {
				// Netcat has no limit of its own: refuse the line, as the
				// chat client would, and keep the member.
				m.send(notice(fmt.Sprintf("error: message too long (%d bytes with its line break, the limit is %d); it was not sent", n, protocol.MaxMessage)))
				continue
			}
			if errors.Is(err, protocol.ErrNotUTF8) {
				if _, plain := conn.(*protocol.PlainConn); plain {
					m.send(notice("error: that line is not UTF-8 text; it was not sent"))
					continue
				}
			}
		}
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
		switch {
		case len(msg) == 0:
		case msg[0] == '/':
			// A command acts on the room: the lines before it go first.
			group = s.pass(group, m)
			if quit := s.command(string(msg), m, name, peer); quit {
				m.send(notice("bye"))
				return "left"
			}
		case len(msg) > protocol.MaxMessage:
			m.send(notice(fmt.Sprintf("error: message too long (%d bytes, the limit is %d)", len(msg), protocol.MaxMessage)))
		default:
			line := messageLine(*name, msg)
			if len(line) > protocol.MaxLine {
				// Control characters shown in caret or U+ notation grow
				// the text; past MaxLine no member could receive it.
				m.send(notice(fmt.Sprintf("error: message too long with its control characters shown (%d bytes, the limit is %d); send fewer control characters", len(line), protocol.MaxLine)))
				break
			}
			group = append(group, line)
		}
		if len(group) >= groupLines || !conn.MessageBuffered() {
			group = s.pass(group, m)
		}
	}
}

// pass gives the gathered lines to the room and returns group emptied,
// for reuse. When a member is past its wait mark, the reader waits until
// that one has caught up, or is dropped for its slowness, before it
// passes the rest, and reads nothing more from this member meanwhile.
func (s *Server) pass(group []string, from *member) []string {
	for rest := group; len(rest) > 0; {
		sent, lagging := s.room.broadcast(from, rest...)
		rest = rest[sent:]
		if lagging != nil {
			lagging.waitDrained()
		}
	}
	clear(group)
	return group[:0]
}

// messageLine is "NAME: text", with the text's controls shown as
// protocol.Sanitize shows them. Printable ASCII, most of what a room
// sends, goes from the read buffer into the line in one copy.
func messageLine(name string, text []byte) string {
	if protocol.PrintableASCII(text) {
		return name + ": " + string(text)
	}
	return name + ": " + protocol.Sanitize(string(text))
}

// limits are the queue bounds for a new member.
func (s *Server) limits() queueLimits {
	// The wait mark stays below the drop limits, so a sender is slowed
	// before anyone would be dropped.
	return queueLimits{
		waitLines: max(1, min(WaitLines, s.cfg.QueueLimit/2)),
		waitBytes: max(1, min(WaitBytes, s.cfg.QueueBytes/2)),
		dropLines: s.cfg.QueueLimit,
		dropBytes: s.cfg.QueueBytes,
	}
}

// skipLongLine handles a plain line over MaxLine: it reads and drops the
// rest of the line, and returns how many bytes the line had, at least.
// It reports false for any other error, or a secure connection, where an
// oversized record is a broken peer.
func skipLongLine(conn protocol.MessageConn, err error) (int, bool) {
	pc, ok := conn.(*protocol.PlainConn)
	if !ok || !errors.Is(err, protocol.ErrMessageTooLong) {
		return 0, false
	}
	n, err := pc.SkipLine()
	return n, err == nil
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

// firstName names the server's first bytes, in errors.
func (s *Server) firstName() string {
	if s.cfg.Mode == Plain {
		return "banner"
	}
	return "hello"
}

// open runs the handshake for the server's mode.
func (s *Server) open(c *joining) (protocol.MessageConn, error) {
	err := c.firstErr
	if rest := c.first[c.firstSent:]; err == nil && len(rest) > 0 {
		c.SetWriteDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
		_, err = c.Write(rest)
		c.SetWriteDeadline(time.Time{})
	}
	if err != nil {
		return nil, fmt.Errorf("send the %s: %w", s.firstName(), err)
	}
	if s.cfg.Mode == Plain {
		pc := protocol.NewPlainConn(c)
		pc.ShareReadBuffers(s.reads)
		return pc, nil
	}
	conn, err := s.handshaker.Finish(c, c.first)
	// The member keeps c, so it would keep its hello too.
	c.first = nil
	if conn != nil {
		conn.ShareReadBuffers(s.reads)
	}
	if errors.Is(err, protocol.ErrPlainPeer) {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		c.Write([]byte(SecureOnlyLine + "\n"))
	}
	return conn, err
}
