package attack

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Flip XORs bytes into one client record on its way to the server.
type Flip struct {
	// Record is the client's data record (or plain line) number, from 1.
	Record int
	// Offset is where XOR starts in the record body (a plain line's text).
	// With Plaintext set it counts from the first plaintext byte instead,
	// and the relay finds the bytes that control it for the suite in use.
	Offset int
	// XOR is the mask.
	XOR []byte
	// Plaintext says Offset is a plaintext offset (see ParseEdit).
	Plaintext bool
	// Old and New are an edit's texts (see ParseEdit): XOR is Old⊕New.
	// They are empty for a flip given as bytes.
	Old, New string
	// Spec is the flag text as given, for messages.
	Spec string
}

// String returns the canonical spec of f: the RECORD:OLD=NEW of ParseEdit
// for an edit, the RECORD:OFFSET:XORHEX of ParseFlip otherwise. Parsing
// it gives f back, with Spec set to it.
func (f Flip) String() string {
	if f.Plaintext && f.Old != "" {
		return fmt.Sprintf("%d:%s=%s", f.Record, f.Old, f.New)
	}
	return fmt.Sprintf("%d:%d:%x", f.Record, f.Offset, f.XOR)
}

// Replay sends one client record to the server a second time.
type Replay struct {
	// Record is the record sent again.
	Record int
	// After is the record after which the copy is sent (at least Record).
	After int
}

// String returns the canonical spec of r for ParseReplay: "N", or "N@M"
// when the copy goes after a later record.
func (r Replay) String() string {
	if r.After == r.Record {
		return strconv.Itoa(r.Record)
	}
	return fmt.Sprintf("%d@%d", r.Record, r.After)
}

// errSpec prefixes every parse error, so callers can tell a bad flag.
var errSpec = errors.New("attack: bad spec")

// ParseFlip reads "RECORD:OFFSET:XORHEX": XOR the hex bytes into the body
// of client record RECORD at byte OFFSET. Example: "2:12:08" flips bit 3
// of byte 12 of the first message record.
func ParseFlip(s string) (Flip, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return Flip{}, fmt.Errorf("%w: --flip %q: want RECORD:OFFSET:XORHEX, such as 2:12:08", errSpec, s)
	}
	rec, err := positive(parts[0], 1)
	if err != nil {
		return Flip{}, fmt.Errorf("%w: --flip %q: record: %v", errSpec, s, err)
	}
	off, err := positive(parts[1], 0)
	if err != nil {
		return Flip{}, fmt.Errorf("%w: --flip %q: offset: %v", errSpec, s, err)
	}
	mask, err := hex.DecodeString(parts[2])
	if err != nil || len(mask) == 0 {
		return Flip{}, fmt.Errorf("%w: --flip %q: XORHEX must be hex bytes, such as 08 or ff00", errSpec, s)
	}
	return Flip{Record: rec, Offset: off, XOR: mask, Spec: s}, nil
}

// ParseEdit reads "RECORD:OLD=NEW": the attacker knows (or guesses) that
// the text of client record RECORD starts with OLD, and turns it into NEW
// by XORing OLD⊕NEW onto the bytes that control those plaintext bytes.
// OLD and NEW have the same length. It is a Flip in plaintext terms.
func ParseEdit(s string) (Flip, error) {
	recText, change, ok := strings.Cut(s, ":")
	old, nw, ok2 := strings.Cut(change, "=")
	if !ok || !ok2 {
		return Flip{}, fmt.Errorf("%w: --edit %q: want RECORD:OLD=NEW, such as \"2:pay 100=pay 900\"", errSpec, s)
	}
	rec, err := positive(recText, 1)
	if err != nil {
		return Flip{}, fmt.Errorf("%w: --edit %q: record: %v", errSpec, s, err)
	}
	if len(old) != len(nw) || old == "" {
		return Flip{}, fmt.Errorf("%w: --edit %q: OLD and NEW must be the same length, and not empty", errSpec, s)
	}
	mask := make([]byte, len(old))
	for i := range mask {
		mask[i] = old[i] ^ nw[i]
	}
	return Flip{Record: rec, XOR: mask, Plaintext: true, Old: old, New: nw, Spec: s}, nil
}

// ParseReplay reads "N" (send client record N again right after it) or
// "N@M" (send it again after record M).
func ParseReplay(s string) (Replay, error) {
	recText, afterText, hasAfter := strings.Cut(s, "@")
	rec, err := positive(recText, 1)
	if err != nil {
		return Replay{}, fmt.Errorf("%w: --replay %q: %v; want N or N@M", errSpec, s, err)
	}
	after := rec
	if hasAfter {
		if after, err = positive(afterText, rec); err != nil {
			return Replay{}, fmt.Errorf("%w: --replay %q: after: %v (M is at least N)", errSpec, s, err)
		}
	}
	return Replay{Record: rec, After: after}, nil
}

// positive parses a decimal integer of at least lo.
func positive(s string, lo int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo {
		return 0, fmt.Errorf("%q is not a number of at least %d", s, lo)
	}
	return n, nil
}
