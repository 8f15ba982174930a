package legacy

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"net"
	"time"
)

// HandshakeTimeout bounds the key exchange on both sides. On loopback it
// takes a few milliseconds.
const HandshakeTimeout = 5 * time.Second

// Conn sends and receives frames after the key exchange. One goroutine
// may read while another writes.
type Conn struct {
	raw net.Conn
	br  *bufio.Reader
	key []byte
}

// Server sends priv's public key in the clear and reads the client's
// wrapped session key.
func Server(c net.Conn, priv *rsa.PrivateKey) (*Conn, error) {
	c.SetDeadline(time.Now().Add(HandshakeTimeout))
	pemKey, err := MarshalPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write(pemKey); err != nil {
		return nil, fmt.Errorf("legacy: send public key: %w", err)
	}
	br := bufio.NewReader(c)
	wrapped := make([]byte, WrappedKeySize)
	if _, err := io.ReadFull(br, wrapped); err != nil {
		return nil, fmt.Errorf("legacy: read key exchange: %w", err)
	}
	key, err := UnwrapKey(priv, wrapped)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return &Conn{raw: c, br: br, key: key}, nil
}

// Client reads the server's PEM key, picks a session key from rnd (nil
// means crypto/rand) and sends it wrapped. It returns the server's key,
// which the original client trusted without any check.
func Client(c net.Conn, rnd io.Reader) (*Conn, *rsa.PublicKey, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	c.SetDeadline(time.Now().Add(HandshakeTimeout))
	br := bufio.NewReader(c)
	var text []byte
	for PEMLen(text) == 0 {
		line, err := br.ReadSlice('\n')
		text = append(text, line...)
		if len(text) > MaxPEM {
			return nil, nil, fmt.Errorf("%w: over %d bytes", ErrBadPublicKey, MaxPEM)
		}
		if err != nil && err != bufio.ErrBufferFull {
			return nil, nil, fmt.Errorf("legacy: read public key: %w", err)
		}
	}
	pub, err := ParsePublicKey(text)
	if err != nil {
		return nil, nil, err
	}
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(rnd, key); err != nil {
		return nil, nil, fmt.Errorf("legacy: session key: %w", err)
	}
	wrapped, err := WrapKey(rnd, pub, key)
	if err != nil {
		return nil, nil, err
	}
	if _, err := c.Write(wrapped); err != nil {
		return nil, nil, fmt.Errorf("legacy: send key exchange: %w", err)
	}
	c.SetDeadline(time.Time{})
	return &Conn{raw: c, br: br, key: key}, pub, nil
}

// WriteFrame seals m into one frame and sends it.
func (c *Conn) WriteFrame(m Message) error {
	frame, err := SealFrame(c.key, m)
	if err != nil {
		return err
	}
	_, err = c.raw.Write(frame)
	return err
}

// ReadFrame reads and decrypts the next frame.
func (c *Conn) ReadFrame() (Message, error) {
	frame := make([]byte, FrameSize)
	if _, err := io.ReadFull(c.br, frame); err != nil {
		return Message{}, err
	}
	return OpenFrame(c.key, frame)
}

// SessionKey returns the AES key both sides share, for tests and lessons
// that want to show what the eavesdropper could not see.
func (c *Conn) SessionKey() []byte { return append([]byte(nil), c.key...) }

// NetConn returns the connection underneath.
func (c *Conn) NetConn() net.Conn { return c.raw }

// Close closes the connection underneath.
func (c *Conn) Close() error { return c.raw.Close() }
