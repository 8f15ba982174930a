package protocol

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
)

// SuiteID names a cipher suite on the wire, in the server hello.
type SuiteID uint8

// Suite identifiers. Only SuiteAES128GCM is ever used unless a lesson asks
// for a weak suite explicitly; weak suites live in package protocol/weak
// and have the high bit set so a dissector can flag them at a glance.
const (
	SuiteAES128GCM  SuiteID = 0x01
	SuiteFixedIVGCM SuiteID = 0x81 // lesson only: one all-zero nonce for every record
	SuiteCBCNoMAC   SuiteID = 0x82 // lesson only: AES-128-CBC, random IV, no MAC
)

// Weak reports whether the suite is one of the deliberately broken ones.
func (id SuiteID) Weak() bool { return id&0x80 != 0 }

// String names the suite; weak suites say so.
func (id SuiteID) String() string {
	switch id {
	case SuiteAES128GCM:
		return "AES-128-GCM"
	case SuiteFixedIVGCM:
		return "AES-128-GCM with a fixed IV (weak)"
	case SuiteCBCNoMAC:
		return "AES-128-CBC without a MAC (weak)"
	}
	return fmt.Sprintf("suite(0x%02x)", uint8(id))
}

// CipherSuite turns one direction's key into a RecordCipher. It is the seam
// the lessons use to plug in weak variants without touching the defaults.
type CipherSuite interface {
	ID() SuiteID
	New(key []byte) (RecordCipher, error)
}

// RecordCipher protects the bodies of data records in one direction.
//
// The additional data is the record header followed by the 64-bit sequence
// number, so a header edit, a replay, a reorder or a record moved to the
// other direction (which has its own key) all fail to open.
type RecordCipher interface {
	// SealedLen is the body length that Seal produces for n bytes.
	SealedLen(n int) int
	// Seal appends the body for plaintext to dst.
	Seal(dst []byte, seq uint64, header, plaintext []byte) []byte
	// Open appends the plaintext of body to dst, or fails with ErrBadRecord.
	Open(dst []byte, seq uint64, header, body []byte) ([]byte, error)
}

// NonceSize and TagSize are the AES-128-GCM sizes used by the default suite.
const (
	NonceSize = 12
	TagSize   = 16
)

// AdditionalData builds the authenticated data for a record: its header
// and then the sequence number, big-endian.
func AdditionalData(dst []byte, header []byte, seq uint64) []byte {
	dst = append(dst, header...)
	return binary.BigEndian.AppendUint64(dst, seq)
}

// SeqNonce is the default suite's nonce: four zero bytes, then the
// sequence number. It is sent in the clear and is never repeated under a
// key, because each direction has its own key and its own counter.
func SeqNonce(seq uint64) [NonceSize]byte {
	var n [NonceSize]byte
	binary.BigEndian.PutUint64(n[4:], seq)
	return n
}

// AES128GCM is the default suite.
func AES128GCM() CipherSuite { return gcmSuite{} }

type gcmSuite struct{}

func (gcmSuite) ID() SuiteID { return SuiteAES128GCM }

func (gcmSuite) New(key []byte) (RecordCipher, error) {
	aead, err := NewGCM(key)
	if err != nil {
		return nil, err
	}
	return &gcmCipher{aead: aead}, nil
}

// NewGCM returns AES-128-GCM for a 16-byte key.
func NewGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != SessionKeySize {
		return nil, fmt.Errorf("protocol: key is %d bytes, want %d", len(key), SessionKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("protocol: %w", err)
	}
	return cipher.NewGCM(block)
}

type gcmCipher struct {
	aead cipher.AEAD
	// ad and nonce are scratch space: passed to the AEAD interface, a
	// local array would escape and cost an allocation per record.
	ad    [RecordHeaderLen + 8]byte
	nonce [NonceSize]byte
}

func (g *gcmCipher) SealedLen(n int) int { return NonceSize + n + TagSize }

func (g *gcmCipher) Seal(dst []byte, seq uint64, header, plaintext []byte) []byte {
	g.nonce = SeqNonce(seq)
	dst = append(dst, g.nonce[:]...)
	return g.aead.Seal(dst, g.nonce[:], plaintext, AdditionalData(g.ad[:0], header, seq))
}

func (g *gcmCipher) Open(dst []byte, seq uint64, header, body []byte) ([]byte, error) {
	if len(body) < NonceSize+TagSize {
		return nil, ErrBadRecord
	}
	// The nonce on the wire must be the one this sequence number implies:
	// a replayed or reordered record carries another one. The AEAD check
	// below would catch it anyway; this keeps the reason in one place.
	g.nonce = SeqNonce(seq)
	if string(body[:NonceSize]) != string(g.nonce[:]) {
		return nil, ErrBadRecord
	}
	out, err := g.aead.Open(dst, g.nonce[:], body[NonceSize:], AdditionalData(g.ad[:0], header, seq))
	if err != nil {
		return nil, ErrBadRecord
	}
	return out, nil
}
