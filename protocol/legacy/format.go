package legacy

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
)

// Sizes of the original program's frames. They are fixed: every message,
// however short, costs one whole frame.
const (
	// Port is the TCP port the original server listened on.
	Port = 1234

	// KeySize is the AES-128 session key.
	KeySize = 16

	// WrappedKeySize is the RSA-2048 OAEP ciphertext of the session key.
	WrappedKeySize = 256

	// IVSize is the GCM IV in front of every frame (always zero in the
	// original).
	IVSize = 12

	// NameSize is the NUL-padded user name at the start of a plaintext.
	NameSize = 20

	// TextSize is the NUL-padded message text after the name.
	TextSize = 236

	// PlaintextSize is the name and the text: one AES-GCM output block
	// run of 256 bytes.
	PlaintextSize = NameSize + TextSize

	// FrameSize is the IV and the ciphertext. No tag is sent.
	FrameSize = IVSize + PlaintextSize
)

// Errors from the frame layer.
var (
	ErrFrameSize = fmt.Errorf("legacy: a frame is exactly %d bytes", FrameSize)
	ErrTooLong   = errors.New("legacy: name or text does not fit its field")
	ErrKeySize   = fmt.Errorf("legacy: the session key is %d bytes", KeySize)
)

// Message is what one frame carries.
type Message struct {
	Name string // at most NameSize bytes, no NUL
	Text string // at most TextSize bytes, no NUL
}

// MarshalPlaintext lays m out as the original did: each field NUL-padded
// to its fixed size.
func MarshalPlaintext(m Message) ([PlaintextSize]byte, error) {
	var p [PlaintextSize]byte
	if len(m.Name) > NameSize || len(m.Text) > TextSize ||
		bytes.IndexByte([]byte(m.Name), 0) >= 0 || bytes.IndexByte([]byte(m.Text), 0) >= 0 {
		return p, ErrTooLong
	}
	copy(p[:NameSize], m.Name)
	copy(p[NameSize:], m.Text)
	return p, nil
}

// ParsePlaintext reads the two NUL-padded fields. Bytes after a field's
// first NUL are ignored, as the C string functions ignored them.
func ParsePlaintext(p []byte) (Message, error) {
	if len(p) != PlaintextSize {
		return Message{}, fmt.Errorf("legacy: a plaintext is exactly %d bytes", PlaintextSize)
	}
	return Message{Name: cString(p[:NameSize]), Text: cString(p[NameSize:])}, nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// XORKeyStream encrypts or decrypts src into dst exactly as AES-128-GCM
// does for a 96-bit IV, without computing or checking a tag: GCM is CTR
// mode whose first counter block for the data is IV || 00000002 (block 1
// only masks the tag).
func XORKeyStream(key, iv, dst, src []byte) error {
	if len(key) != KeySize {
		return ErrKeySize
	}
	if len(iv) != IVSize {
		return fmt.Errorf("legacy: the IV is %d bytes", IVSize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("legacy: %w", err)
	}
	var ctr [aes.BlockSize]byte
	copy(ctr[:], iv)
	binary.BigEndian.PutUint32(ctr[IVSize:], 2)
	cipher.NewCTR(block, ctr[:]).XORKeyStream(dst, src)
	return nil
}

// SealFrame builds the frame for m the way the original did: the all-zero
// IV, AES-128-GCM, and the tag thrown away.
func SealFrame(key []byte, m Message) ([]byte, error) {
	p, err := MarshalPlaintext(m)
	if err != nil {
		return nil, err
	}
	frame := make([]byte, FrameSize) // the IV stays zero: the mistake on show
	if err := XORKeyStream(key, frame[:IVSize], frame[IVSize:], p[:]); err != nil {
		return nil, err
	}
	return frame, nil
}

// SplitFrame returns the IV and the ciphertext of a frame.
func SplitFrame(frame []byte) (iv, ciphertext []byte, err error) {
	if len(frame) != FrameSize {
		return nil, nil, ErrFrameSize
	}
	return frame[:IVSize], frame[IVSize:], nil
}

// OpenFrame decrypts a frame. There is no tag, so any 268 bytes "open":
// a flipped ciphertext bit flips the same plaintext bit, unnoticed.
func OpenFrame(key, frame []byte) (Message, error) {
	iv, ct, err := SplitFrame(frame)
	if err != nil {
		return Message{}, err
	}
	var p [PlaintextSize]byte
	if err := XORKeyStream(key, iv, p[:], ct); err != nil {
		return Message{}, err
	}
	return ParsePlaintext(p[:])
}
