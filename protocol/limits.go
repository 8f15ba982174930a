package protocol

import "time"

// Limits. Each is checked before anything is allocated or waited on, so a
// peer that announces more than this is refused at once.
const (
	// MaxName is the longest user name in bytes. Names are shown in front
	// of every message, so they are kept short.
	MaxName = 32

	// MaxMessage is the longest message text in bytes a client may send.
	// It is a chat, not a file transfer: 4000 bytes is a long paragraph.
	MaxMessage = 4000

	// MaxLine is the longest line in bytes (without its newline) that
	// either side accepts in plain mode, and the longest plaintext inside
	// one secure record. It fits "NAME: " in front of a MaxMessage text,
	// with room to spare for notices.
	MaxLine = 4096

	// MaxRecordBody is the longest secure record body. The largest body
	// is a data record: explicit nonce or IV, MaxLine of plaintext, and
	// the tag or the CBC padding, which stay under 64 bytes in every
	// suite. The hello (about 300 bytes) fits easily too.
	MaxRecordBody = MaxLine + 64

	// RecordHeaderLen is the size of a secure record header: one byte of
	// type and four bytes of big-endian body length.
	RecordHeaderLen = 5

	// HandshakeTimeout bounds the whole secure handshake on both sides.
	// On loopback it takes about a millisecond; a peer that has not
	// finished in five seconds is broken or hostile.
	HandshakeTimeout = 5 * time.Second

	// NameTimeout bounds how long the server waits for a new member's
	// name once its first byte has come. A person typing into telnet, or
	// into netcat and sending the line in parts, needs far longer than a
	// program.
	NameTimeout = 2 * time.Minute

	// QuietNameTimeout bounds the wait for a name of which nothing has
	// come yet. Netcat sends a line when Enter is pressed, so this is the
	// time a person has to read the banner and type a name; a program
	// sends its name at once. A connection that sends nothing is cut off
	// this much sooner than one that has begun.
	QuietNameTimeout = 30 * time.Second

	// SessionKeySize is the AES-128 key the client picks and wraps.
	SessionKeySize = 16

	// WrappedKeySize is the RSA-2048 OAEP ciphertext of the session key.
	WrappedKeySize = 256

	// RSABits is the server key size. Anything else is refused.
	RSABits = 2048
)
