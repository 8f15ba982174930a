package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// RecordType is the first byte of every secure record.
type RecordType uint8

// Record types. The values are far from printable ASCII on purpose: a
// secure peer that sees a letter where a type should be knows it is
// talking to a plain-mode peer (or a person with netcat).
const (
	TypeHello       RecordType = 0x01 // server → client, first message
	TypeKeyExchange RecordType = 0x02 // client → server, second message
	TypeData        RecordType = 0x17 // either way, every message after
)

// String names the type, as the sniffer prints it.
func (t RecordType) String() string {
	switch t {
	case TypeHello:
		return "hello"
	case TypeKeyExchange:
		return "key-exchange"
	case TypeData:
		return "data"
	}
	return fmt.Sprintf("unknown(0x%02x)", uint8(t))
}

// Valid reports whether t is one of the defined record types.
func (t RecordType) Valid() bool {
	return t == TypeHello || t == TypeKeyExchange || t == TypeData
}

// Errors from the record layer. ErrBadRecord is the single error for every
// authentication failure (tampered, truncated, replayed, reordered or
// reflected), so nothing tells an attacker which check failed.
var (
	ErrBadRecord   = errors.New("protocol: bad record")
	ErrOversize    = errors.New("protocol: record length over limit")
	ErrUnknownType = errors.New("protocol: unknown record type")
	ErrTruncated   = errors.New("protocol: truncated record")
)

// Header is the five bytes in front of every secure record.
type Header struct {
	Type   RecordType
	Length uint32 // body length in bytes
}

// Marshal appends the header's wire form to b.
func (h Header) Marshal(b []byte) []byte {
	b = append(b, byte(h.Type))
	return binary.BigEndian.AppendUint32(b, h.Length)
}

// ParseHeader decodes a header and checks it against the limits. The
// length is checked here, before any body is read or allocated.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < RecordHeaderLen {
		return Header{}, ErrTruncated
	}
	h := Header{Type: RecordType(b[0]), Length: binary.BigEndian.Uint32(b[1:5])}
	if !h.Type.Valid() {
		return h, fmt.Errorf("%w 0x%02x", ErrUnknownType, b[0])
	}
	if h.Length > MaxRecordBody {
		return h, fmt.Errorf("%w: %d bytes, the limit is %d", ErrOversize, h.Length, MaxRecordBody)
	}
	return h, nil
}

// ParseRecord splits one whole record from the front of b and returns its
// header, its body (aliasing b) and what follows it.
func ParseRecord(b []byte) (h Header, body, rest []byte, err error) {
	h, err = ParseHeader(b)
	if err != nil {
		return h, nil, nil, err
	}
	end := RecordHeaderLen + int(h.Length)
	if len(b) < end {
		return h, nil, nil, ErrTruncated
	}
	return h, b[RecordHeaderLen:end], b[end:], nil
}

// AppendRecord appends a whole record (header and body) to b.
func AppendRecord(b []byte, t RecordType, body []byte) []byte {
	b = Header{Type: t, Length: uint32(len(body))}.Marshal(b)
	return append(b, body...)
}

// recordReader reads records from a connection's buffered stream.
type recordReader struct {
	r   *reader
	hdr [RecordHeaderLen]byte
}

// next reads one record. The body points into the read buffer: it stays
// valid until the next read. A stream that ends between records returns
// io.EOF; one that ends inside a record returns ErrTruncated. Other
// errors (a timeout) leave what was read buffered for the next call.
func (rr *recordReader) next() (Header, []byte, error) {
	h, err := rr.header()
	if err != nil {
		return h, nil, err
	}
	// ParseHeader bounds the length, so the record fits the large
	// buffer, and nothing is allocated for it.
	n := RecordHeaderLen + int(h.Length)
	b, err := rr.r.peek(n)
	if len(b) < n {
		if err == io.EOF {
			err = ErrTruncated
		}
		return h, nil, err
	}
	rr.r.discard(n)
	return h, b[RecordHeaderLen:], nil
}

// header reads and checks the next record's header, and leaves it unread,
// so a caller that expects a certain record can refuse another before its
// body is waited for.
func (rr *recordReader) header() (Header, error) {
	b, err := rr.r.peek(RecordHeaderLen)
	copy(rr.hdr[:], b)
	if len(b) < RecordHeaderLen {
		if len(b) > 0 && err == io.EOF {
			err = ErrTruncated
		}
		return Header{}, err
	}
	return ParseHeader(rr.hdr[:])
}
