package protocol

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
)

// Magic opens every hello body, so a dissector recognises chatlab by
// content rather than by port.
const Magic = "CLAB"

// Version is the protocol version in the hello.
const Version = 1

// helloFixedLen is magic, version and suite: the bytes before the key.
const helloFixedLen = len(Magic) + 2

// ErrBadHello is returned for a hello that does not parse.
var ErrBadHello = errors.New("protocol: malformed hello")

// Hello is the server's first record: who it is and how it will encrypt.
type Hello struct {
	Version   uint8
	Suite     SuiteID
	PublicKey *rsa.PublicKey
	// KeyDER is the SubjectPublicKeyInfo as sent; the fingerprint is its hash.
	KeyDER []byte
}

// MarshalHello builds a hello body for key and suite.
func MarshalHello(key *rsa.PublicKey, suite SuiteID) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, fmt.Errorf("protocol: %w", err)
	}
	b := make([]byte, 0, helloFixedLen+len(der))
	b = append(b, Magic...)
	b = append(b, Version, byte(suite))
	return append(b, der...), nil
}

// ParseHello decodes a hello body. It accepts only version 1 and RSA-2048.
func ParseHello(body []byte) (Hello, error) {
	if len(body) < helloFixedLen || string(body[:len(Magic)]) != Magic {
		return Hello{}, ErrBadHello
	}
	// KeyDER is copied: body is often a reused read buffer.
	h := Hello{Version: body[4], Suite: SuiteID(body[5]), KeyDER: bytes.Clone(body[helloFixedLen:])}
	if h.Version != Version {
		return h, fmt.Errorf("%w: version %d, this program speaks %d", ErrBadHello, h.Version, Version)
	}
	pub, err := x509.ParsePKIXPublicKey(h.KeyDER)
	if err != nil {
		return h, fmt.Errorf("%w: %v", ErrBadHello, err)
	}
	rsaPub, ok := pub.(*rsa.PublicKey)
	if !ok || rsaPub.N.BitLen() != RSABits {
		return h, fmt.Errorf("%w: the server key is not RSA-%d", ErrBadHello, RSABits)
	}
	h.PublicKey = rsaPub
	return h, nil
}
