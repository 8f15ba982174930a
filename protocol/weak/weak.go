// Package weak holds deliberately broken cipher suites for the lessons:
// AES-128-GCM with one fixed all-zero nonce (the original C program's
// mistake) and AES-128-CBC with no MAC. Nothing selects them by default;
// a lesson or the relay must ask for one by name, and each prints a
// warning when it does.
package weak

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"

	"chatlab/protocol"
)

// Warning is printed by every command that turns a weak suite on.
const Warning = "WARNING: a deliberately weak cipher suite is on, for teaching only"

// Suites returns every weak suite, for a lesson client that accepts them.
func Suites() []protocol.CipherSuite {
	return []protocol.CipherSuite{FixedIVGCM(), CBCNoMAC()}
}

// ByName returns the weak suite called "fixed-iv" or "cbc".
func ByName(name string) (protocol.CipherSuite, error) {
	switch name {
	case "fixed-iv":
		return FixedIVGCM(), nil
	case "cbc":
		return CBCNoMAC(), nil
	}
	return nil, fmt.Errorf("weak: no suite %q (have fixed-iv, cbc)", name)
}

// FixedIVGCM is AES-128-GCM that uses the all-zero nonce for every record.
// Identical plaintexts give identical ciphertexts, and XOR of two
// ciphertexts is XOR of their plaintexts.
func FixedIVGCM() protocol.CipherSuite { return fixedSuite{} }

type fixedSuite struct{}

func (fixedSuite) ID() protocol.SuiteID { return protocol.SuiteFixedIVGCM }

func (fixedSuite) New(key []byte) (protocol.RecordCipher, error) {
	aead, err := protocol.NewGCM(key)
	if err != nil {
		return nil, err
	}
	return &fixedCipher{aead: aead}, nil
}

type fixedCipher struct {
	aead cipher.AEAD
}

func (f *fixedCipher) SealedLen(n int) int { return protocol.NonceSize + n + protocol.TagSize }

func (f *fixedCipher) Seal(dst []byte, seq uint64, header, plaintext []byte) []byte {
	var zero [protocol.NonceSize]byte // the mistake this suite exists to show
	dst = append(dst, zero[:]...)
	return f.aead.Seal(dst, zero[:], plaintext, protocol.AdditionalData(nil, header, seq))
}

func (f *fixedCipher) Open(dst []byte, seq uint64, header, body []byte) ([]byte, error) {
	if len(body) < protocol.NonceSize+protocol.TagSize {
		return nil, protocol.ErrBadRecord
	}
	out, err := f.aead.Open(dst, body[:protocol.NonceSize], body[protocol.NonceSize:], protocol.AdditionalData(nil, header, seq))
	if err != nil {
		return nil, protocol.ErrBadRecord
	}
	return out, nil
}

// CBCNoMAC is AES-128-CBC with a random IV, PKCS#7 padding and no MAC.
// It hides the text but protects nothing: flipping a bit of the IV flips
// the same bit of the first plaintext block, and old records replay.
func CBCNoMAC() protocol.CipherSuite { return cbcSuite{rand: rand.Reader} }

type cbcSuite struct{ rand io.Reader }

func (cbcSuite) ID() protocol.SuiteID { return protocol.SuiteCBCNoMAC }

func (s cbcSuite) New(key []byte) (protocol.RecordCipher, error) {
	if len(key) != protocol.SessionKeySize {
		return nil, fmt.Errorf("weak: key is %d bytes, want %d", len(key), protocol.SessionKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return &cbcCipher{block: block, rand: s.rand}, nil
}

type cbcCipher struct {
	block cipher.Block
	rand  io.Reader
}

func (c *cbcCipher) SealedLen(n int) int { return aes.BlockSize + (n/aes.BlockSize+1)*aes.BlockSize }

func (c *cbcCipher) Seal(dst []byte, _ uint64, _, plaintext []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, c.SealedLen(len(plaintext)))...)
	body := dst[start:]
	iv := body[:aes.BlockSize]
	if _, err := io.ReadFull(c.rand, iv); err != nil {
		panic("weak: no randomness for a CBC IV: " + err.Error())
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	data := body[aes.BlockSize:]
	copy(data, plaintext)
	for i := len(plaintext); i < len(data); i++ {
		data[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(c.block, iv).CryptBlocks(data, data)
	return dst
}

func (c *cbcCipher) Open(dst []byte, _ uint64, _, body []byte) ([]byte, error) {
	if len(body) < 2*aes.BlockSize || len(body)%aes.BlockSize != 0 {
		return nil, protocol.ErrBadRecord
	}
	data := make([]byte, len(body)-aes.BlockSize)
	cipher.NewCBCDecrypter(c.block, body[:aes.BlockSize]).CryptBlocks(data, body[aes.BlockSize:])
	pad := int(data[len(data)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, protocol.ErrBadRecord
	}
	for _, b := range data[len(data)-pad:] {
		if int(b) != pad {
			return nil, protocol.ErrBadRecord
		}
	}
	return append(dst, data[:len(data)-pad]...), nil
}
