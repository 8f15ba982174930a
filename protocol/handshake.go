package protocol

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// ErrPlainPeer means the other side sent text where a secure record was
// due: it runs in plain mode, or it is a person with netcat.
var ErrPlainPeer = errors.New("protocol: the peer speaks plain text, not secure records")

// ErrOldServer means the server's hello is of an older protocol version,
// which a client refuses (see Version).
var ErrOldServer = errors.New("protocol: the server runs an older protocol version")

// ErrNotSecureServer means the server's first bytes were neither a hello
// nor text.
var ErrNotSecureServer = errors.New("protocol: the server did not send a chatlab hello")

// ServerConfig is what a secure server needs for a handshake.
type ServerConfig struct {
	Key *rsa.PrivateKey
	// Suite protects the records; nil means AES128GCM.
	Suite CipherSuite
	// Timeout bounds the handshake; zero means HandshakeTimeout.
	Timeout time.Duration
	// KeyLog, when set, gets one line per completed handshake.
	KeyLog *KeyLogWriter
}

// ClientConfig is what a secure client needs for a handshake.
type ClientConfig struct {
	// Suites lists the suites the client accepts; nil means AES128GCM only.
	Suites []CipherSuite
	// Verify sees the server's hello before anything is sent, and refuses
	// the server by returning an error (fingerprint checks go here).
	Verify func(Hello) error
	// Rand is the source of the session key; nil means crypto/rand.
	Rand io.Reader
	// Timeout bounds the handshake; zero means HandshakeTimeout.
	Timeout time.Duration
	// KeyLog, when set, gets one line per completed handshake.
	KeyLog *KeyLogWriter
	// First are lines to seal under the new session key and send in the
	// same write as the key exchange, as a chat client sends its name:
	// the server then finds them waiting when its decryption is done,
	// and the client makes one write where it would make two.
	First []string
}

func timeoutOr(d time.Duration) time.Duration {
	if d <= 0 {
		return HandshakeTimeout
	}
	return d
}

// Server runs the server side of the handshake on c. A server that runs
// many handshakes with one key uses a Handshaker instead.
func Server(c net.Conn, cfg ServerConfig) (*Conn, error) {
	h, err := NewHandshaker(cfg)
	if err != nil {
		return nil, err
	}
	return h.Handshake(c)
}

// Handshaker runs the server side of handshakes with one key and suite.
// It marshals the key once, where Server does it for every connection:
// that is most of what a server does before the key exchange comes. Each
// connection's hello is that one with a fresh random.
type Handshaker struct {
	cfg   ServerConfig
	suite CipherSuite
	hello []byte // the hello record with a zero random; never changed
}

// NewHandshaker checks cfg and makes its hello.
func NewHandshaker(cfg ServerConfig) (*Handshaker, error) {
	if cfg.Key == nil {
		return nil, errors.New("protocol: server has no key")
	}
	h := &Handshaker{cfg: cfg, suite: cfg.Suite}
	if h.suite == nil {
		h.suite = AES128GCM()
	}
	body, err := marshalHello(&cfg.Key.PublicKey, h.suite.ID(), make([]byte, RandomSize))
	if err != nil {
		return nil, err
	}
	h.hello = AppendRecord(nil, TypeHello, body)
	return h, nil
}

// Handshake runs the server side of the handshake on c. It is safe to
// call from many goroutines at once.
func (h *Handshaker) Handshake(c net.Conn) (*Conn, error) {
	c.SetDeadline(time.Now().Add(timeoutOr(h.cfg.Timeout)))
	hello := h.NewHello()
	if _, err := c.Write(hello); err != nil {
		return nil, fmt.Errorf("protocol: send hello: %w", err)
	}
	return h.finish(c, hello)
}

// helloRandomAt is where the random starts in a hello record.
const helloRandomAt = RecordHeaderLen + helloFixedLen

// NewHello is a hello record with a fresh random, the handshake's first
// bytes, for a server that writes them itself (the moment it accepts a
// connection, say), then calls Finish with the same record.
func (h *Handshaker) NewHello() []byte {
	hello := bytes.Clone(h.hello)
	rand.Read(hello[helloRandomAt : helloRandomAt+RandomSize])
	return hello
}

// Finish runs the rest of a handshake whose hello, from NewHello, has
// been written. What is left only reads, so only reads get the deadline.
func (h *Handshaker) Finish(c net.Conn, hello []byte) (*Conn, error) {
	c.SetReadDeadline(time.Now().Add(timeoutOr(h.cfg.Timeout)))
	return h.finish(c, hello)
}

// finish reads the key exchange and makes the session for hello, the
// record sent, under the deadline its caller set.
func (h *Handshaker) finish(c net.Conn, hello []byte) (*Conn, error) {
	conn := newConn(c, h.suite)
	// The header alone says whether this is the key exchange: a peer
	// announcing anything else is refused before its body is read.
	hdr, err := conn.rr.header()
	if err == nil && (hdr.Type != TypeKeyExchange || hdr.Length != WrappedKeySize) {
		return nil, fmt.Errorf("protocol: expected a %d-byte key exchange, got %s of %d bytes", WrappedKeySize, hdr.Type, hdr.Length)
	}
	var kex []byte
	if err == nil {
		_, kex, err = conn.rr.next()
	}
	if err != nil {
		return nil, handshakeReadError(err, conn.rr.hdr[:])
	}
	sessionKey, err := rsa.DecryptOAEP(sha256.New(), nil, h.cfg.Key, kex, nil)
	if err != nil || len(sessionKey) != SessionKeySize {
		return nil, fmt.Errorf("protocol: key exchange: %w", ErrBadRecord)
	}
	transcript := Transcript(hello, AppendRecord(nil, TypeKeyExchange, kex))
	c2s, s2c, err := DeriveKeys(sessionKey, transcript)
	if err != nil {
		return nil, err
	}
	if err := conn.setKeys(s2c, c2s); err != nil {
		return nil, err
	}
	if err := h.cfg.KeyLog.logSession(transcript, sessionKey); err != nil {
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return conn, nil
}

// Client runs the client side of the handshake on c. Nothing at all is
// sent until the hello has been parsed and verified.
func Client(c net.Conn, cfg ClientConfig) (*Conn, Hello, error) {
	suites := cfg.Suites
	if suites == nil {
		suites = []CipherSuite{AES128GCM()}
	}
	rnd := cfg.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	c.SetDeadline(time.Now().Add(timeoutOr(cfg.Timeout)))
	conn := newConn(c, nil)
	h, body, err := conn.rr.next()
	if err != nil {
		return nil, Hello{}, handshakeReadError(err, conn.rr.hdr[:])
	}
	if h.Type != TypeHello {
		return nil, Hello{}, ErrNotSecureServer
	}
	hello, err := ParseHello(body)
	if err != nil {
		return nil, hello, err
	}
	if hello.Version != Version {
		return nil, hello, fmt.Errorf("%w: it speaks version %d, whose sessions can be recorded and replayed whole; this client speaks %d only", ErrOldServer, hello.Version, Version)
	}
	for _, s := range suites {
		if s.ID() == hello.Suite {
			conn.suite = s
		}
	}
	if conn.suite == nil {
		return nil, hello, fmt.Errorf("protocol: the server wants %s, which this client does not accept", hello.Suite)
	}
	if cfg.Verify != nil {
		if err := cfg.Verify(hello); err != nil {
			return nil, hello, err
		}
	}
	helloRecord := AppendRecord(nil, TypeHello, body)
	sessionKey := make([]byte, SessionKeySize)
	if _, err := io.ReadFull(rnd, sessionKey); err != nil {
		return nil, hello, fmt.Errorf("protocol: session key: %w", err)
	}
	wrapped, err := rsa.EncryptOAEP(sha256.New(), rnd, hello.PublicKey, sessionKey, nil)
	if err != nil {
		return nil, hello, fmt.Errorf("protocol: wrap session key: %w", err)
	}
	kex := AppendRecord(nil, TypeKeyExchange, wrapped)
	transcript := Transcript(helloRecord, kex)
	c2s, s2c, err := DeriveKeys(sessionKey, transcript)
	if err != nil {
		return nil, hello, err
	}
	if err := conn.setKeys(c2s, s2c); err != nil {
		return nil, hello, err
	}
	flight, err := conn.AppendMessages(kex, cfg.First...)
	if err != nil {
		return nil, hello, err
	}
	if _, err := c.Write(flight); err != nil {
		return nil, hello, fmt.Errorf("protocol: send key exchange: %w", err)
	}
	if err := cfg.KeyLog.logSession(transcript, sessionKey); err != nil {
		return nil, hello, err
	}
	c.SetDeadline(time.Time{})
	return conn, hello, nil
}

// handshakeReadError turns a failed first read into the clearest error:
// text where a record was due means a plain-mode peer.
func handshakeReadError(err error, first []byte) error {
	if errors.Is(err, ErrUnknownType) && LooksLikeText(first) {
		return ErrPlainPeer
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("protocol: handshake timed out: %w", err)
	}
	return err
}

// LooksLikeText reports whether b is printable ASCII or line breaks, which
// is how a plain-mode line starts and never how a record does.
func LooksLikeText(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\n' && c != '\r' && c != '\t' {
			return false
		}
	}
	return true
}
