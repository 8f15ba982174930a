package protocol

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// KeyLogEnv names the file that chat, the lesson programs and anything
// else built on this package append session keys to, as SSLKEYLOGFILE
// does for TLS. Unset or empty means no keys are logged.
const KeyLogEnv = "CHATLAB_KEYLOGFILE"

// KeyLogLabel starts every session line of a key log.
const KeyLogLabel = "CHATLAB_SESSION"

// maxKeyLogLine bounds one line of a key log when it is parsed: a session
// line is 113 bytes, so this leaves room for comments without letting a
// file of one endless line fill the memory.
const maxKeyLogLine = 4096

// TranscriptSize is the length of a transcript hash, the identifier of a
// session in a key log.
const TranscriptSize = sha256.Size

// KeyLogWriter appends one line per session to a key log. It is safe for
// concurrent use: a server logs every member's handshake through one.
type KeyLogWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewKeyLogWriter returns a writer of key-log lines to w.
func NewKeyLogWriter(w io.Writer) *KeyLogWriter { return &KeyLogWriter{w: w} }

// OpenKeyLog opens the file named by CHATLAB_KEYLOGFILE for appending and
// says on warn, once, that session keys are being written there. It returns
// nil and no error when the variable is unset; Close on nil does nothing.
func OpenKeyLog(warn io.Writer) (*KeyLogWriter, error) {
	path := os.Getenv(KeyLogEnv)
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("protocol: key log named by %s: %w", KeyLogEnv, err)
	}
	fmt.Fprintf(warn, "warning: %s is set: session keys are written to\n  %s\n"+
		"  whoever reads that file can decrypt those sessions\n", KeyLogEnv, path)
	return NewKeyLogWriter(f), nil
}

// Close closes the underlying writer if it is a file or other io.Closer.
func (k *KeyLogWriter) Close() error {
	if k == nil {
		return nil
	}
	if c, ok := k.w.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Log appends the line for one session: its transcript hash and the
// session key the client chose. Each line goes out in one write, so
// programs appending to the same file do not interleave.
func (k *KeyLogWriter) Log(transcript, sessionKey []byte) error {
	if len(transcript) != TranscriptSize || len(sessionKey) != SessionKeySize {
		return fmt.Errorf("protocol: key log: want a %d-byte transcript and a %d-byte key, got %d and %d",
			TranscriptSize, SessionKeySize, len(transcript), len(sessionKey))
	}
	line := fmt.Sprintf("%s %x %x\n", KeyLogLabel, transcript, sessionKey)
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, err := io.WriteString(k.w, line); err != nil {
		return fmt.Errorf("protocol: key log: %w", err)
	}
	return nil
}

// logSession writes to k when it is set; the handshakes call it once the
// session key is known on their side.
func (k *KeyLogWriter) logSession(transcript, sessionKey []byte) error {
	if k == nil {
		return nil
	}
	return k.Log(transcript, sessionKey)
}

// KeyLog is a parsed key log: session keys by transcript hash.
type KeyLog struct {
	keys map[[TranscriptSize]byte][]byte
}

// ErrBadKeyLog is returned for a key-log line that does not parse.
var ErrBadKeyLog = errors.New("protocol: malformed key log")

// ParseKeyLog reads a key log. Blank lines, lines starting with '#' and
// lines with another label (a later version's) are skipped; a
// CHATLAB_SESSION line that does not parse is an error naming its line.
// When a transcript appears twice, the later key wins.
func ParseKeyLog(r io.Reader) (KeyLog, error) {
	kl := KeyLog{keys: map[[TranscriptSize]byte][]byte{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxKeyLogLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Fields(line)
		if fields[0] != KeyLogLabel {
			continue
		}
		id, key, err := parseKeyLogFields(fields[1:])
		if err != nil {
			return KeyLog{}, fmt.Errorf("%w: line %d: %v", ErrBadKeyLog, n, err)
		}
		kl.keys[id] = key
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return KeyLog{}, fmt.Errorf("%w: line %d is over %d bytes", ErrBadKeyLog, n+1, maxKeyLogLine)
		}
		return KeyLog{}, fmt.Errorf("protocol: read key log: %w", err)
	}
	return kl, nil
}

func parseKeyLogFields(f []string) (id [TranscriptSize]byte, key []byte, err error) {
	if len(f) != 2 {
		return id, nil, fmt.Errorf("want %s TRANSCRIPT KEY, got %d fields after the label", KeyLogLabel, len(f))
	}
	t, err := hex.DecodeString(f[0])
	if err != nil || len(t) != TranscriptSize {
		return id, nil, fmt.Errorf("the transcript is not %d hex bytes", TranscriptSize)
	}
	key, err = hex.DecodeString(f[1])
	if err != nil || len(key) != SessionKeySize {
		return id, nil, fmt.Errorf("the session key is not %d hex bytes", SessionKeySize)
	}
	copy(id[:], t)
	return id, key, nil
}

// Lookup returns the session key logged for a transcript hash, as
// Transcript computes it from the hello and key-exchange records.
func (kl KeyLog) Lookup(transcript []byte) ([]byte, bool) {
	if len(transcript) != TranscriptSize {
		return nil, false
	}
	key, ok := kl.keys[[TranscriptSize]byte(transcript)]
	return bytes.Clone(key), ok
}

// Len is the number of sessions in the log.
func (kl KeyLog) Len() int { return len(kl.keys) }
