package protocol

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
)

// Magic opens every hello body, so a dissector recognises chatlab by
// content rather than by port.
const Magic = "CLAB"

// Version is the protocol version in the hello. Version 1 had no random:
// its hello was the same for every connection, so a client's whole side
// of a session, recorded and sent again, opened again. This program
// speaks version 2 only; ParseHello still reads version 1, for captures.
const Version = 2

// RandomSize is the length of the server's random in a hello: fresh for
// every connection, and through the transcript part of every session's
// keys, so that no recorded session opens on another connection.
const RandomSize = 32

// helloFixedLen is magic, version and suite: the bytes before the random
// (version 2) or the key (version 1).
const helloFixedLen = len(Magic) + 2

// ErrBadHello is returned for a hello that does not parse.
var ErrBadHello = errors.New("protocol: malformed hello")

// Hello is the server's first record: who it is and how it will encrypt.
type Hello struct {
	Version uint8
	Suite   SuiteID
	// Random is the server's fresh random (version 2); nil in version 1.
	Random    []byte
	PublicKey *rsa.PublicKey
	// KeyDER is the SubjectPublicKeyInfo as sent; the fingerprint is its hash.
	KeyDER []byte
}

// MarshalHello builds a version 2 hello body for key and suite, with a
// fresh random from crypto/rand.
func MarshalHello(key *rsa.PublicKey, suite SuiteID) ([]byte, error) {
	random := make([]byte, RandomSize)
	rand.Read(random)
	return marshalHello(key, suite, random)
}

// marshalHello builds a version 2 hello body with the given random.
func marshalHello(key *rsa.PublicKey, suite SuiteID, random []byte) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, fmt.Errorf("protocol: %w", err)
	}
	if len(random) != RandomSize {
		return nil, fmt.Errorf("protocol: a hello's random is %d bytes, not %d", RandomSize, len(random))
	}
	b := make([]byte, 0, helloFixedLen+RandomSize+len(der))
	b = append(b, Magic...)
	b = append(b, Version, byte(suite))
	b = append(b, random...)
	return append(b, der...), nil
}

// ParseHello decodes a hello body of version 2, or of version 1, which a
// client must refuse (see Version) but a dissector still shows. The key
// must be RSA-2048.
func ParseHello(body []byte) (Hello, error) {
	if len(body) < helloFixedLen || string(body[:len(Magic)]) != Magic {
		return Hello{}, ErrBadHello
	}
	h := Hello{Version: body[4], Suite: SuiteID(body[5])}
	der := body[helloFixedLen:]
	switch h.Version {
	case 1:
	case Version:
		if len(der) < RandomSize {
			return h, fmt.Errorf("%w: no room for the %d-byte random", ErrBadHello, RandomSize)
		}
		h.Random, der = bytes.Clone(der[:RandomSize]), der[RandomSize:]
	default:
		return h, fmt.Errorf("%w: version %d, this program speaks %d", ErrBadHello, h.Version, Version)
	}
	// KeyDER is copied: body is often a reused read buffer.
	h.KeyDER = bytes.Clone(der)
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

// KeyOffset is where the key's DER starts in a hello body of version v.
func KeyOffset(v uint8) int {
	if v == 1 {
		return helloFixedLen
	}
	return helloFixedLen + RandomSize
}
