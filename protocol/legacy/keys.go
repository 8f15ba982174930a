package legacy

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
)

// RSABits is the size of the original server's key.
const RSABits = 2048

// MaxPEM bounds the PEM public key a client reads. An RSA-2048 key in
// PEM is about 450 bytes; anything past 4 KiB is not a key.
const MaxPEM = 4096

// ErrBadPublicKey is returned for PEM text that is not an RSA-2048 key.
var ErrBadPublicKey = errors.New("legacy: not an RSA-2048 public key in PEM")

// ErrKeyExchange is the one error for a wrapped key that does not open.
var ErrKeyExchange = errors.New("legacy: bad key exchange")

// pemEnd is the start of the line that closes a PEM block.
const pemEnd = "-----END "

// MarshalPublicKey returns pub as the original sent it: a PEM
// "PUBLIC KEY" block (SubjectPublicKeyInfo), as PEM_write_bio_RSA_PUBKEY
// writes it.
func MarshalPublicKey(pub *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("legacy: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKey reads a PEM "PUBLIC KEY" or "RSA PUBLIC KEY" block. The
// block must be whole, through the newline after its END line, because on
// the wire that newline is how a reader knows the key is complete.
func ParsePublicKey(text []byte) (*rsa.PublicKey, error) {
	if PEMLen(text) == 0 {
		return nil, ErrBadPublicKey
	}
	block, _ := pem.Decode(text)
	if block == nil {
		return nil, ErrBadPublicKey
	}
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%w: block type %q", ErrBadPublicKey, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPublicKey, err)
	}
	rsaPub, ok := pub.(*rsa.PublicKey)
	if !ok || rsaPub.N.BitLen() != RSABits {
		return nil, ErrBadPublicKey
	}
	return rsaPub, nil
}

// PEMLen returns the length of the complete PEM block at the start of b,
// through the newline after its END line, or 0 if b does not yet hold a
// whole block. It lets a reader of a byte stream find where the key ends.
func PEMLen(b []byte) int {
	i := bytes.Index(b, []byte(pemEnd))
	if i < 0 {
		return 0
	}
	j := bytes.IndexByte(b[i:], '\n')
	if j < 0 {
		return 0
	}
	return i + j + 1
}

// WrapKey wraps a session key for pub with RSA-OAEP-SHA1, as the original
// did with RSA_PKCS1_OAEP_PADDING.
func WrapKey(rnd io.Reader, pub *rsa.PublicKey, key []byte) ([]byte, error) {
	if len(key) != KeySize {
		return nil, ErrKeySize
	}
	out, err := rsa.EncryptOAEP(sha1.New(), rnd, pub, key, nil)
	if err != nil {
		return nil, fmt.Errorf("legacy: wrap key: %w", err)
	}
	return out, nil
}

// UnwrapKey recovers the session key from the client's 256 bytes.
func UnwrapKey(priv *rsa.PrivateKey, wrapped []byte) ([]byte, error) {
	if len(wrapped) != WrappedKeySize {
		return nil, ErrKeyExchange
	}
	key, err := rsa.DecryptOAEP(sha1.New(), nil, priv, wrapped, nil)
	if err != nil || len(key) != KeySize {
		return nil, ErrKeyExchange
	}
	return key, nil
}
