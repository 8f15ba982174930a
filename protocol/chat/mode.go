package chat

import "fmt"

// Mode selects the wire format of a server or client.
type Mode int

// The two modes.
const (
	Secure Mode = iota // RSA-2048 key transport, then AES-128-GCM records
	Plain              // newline-terminated text, readable on the wire
)

// String is "plain" or "secure", as the flags spell it.
func (m Mode) String() string {
	if m == Plain {
		return "plain"
	}
	return "secure"
}

// ParseMode accepts "plain" and "secure".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "plain":
		return Plain, nil
	case "secure":
		return Secure, nil
	}
	return 0, fmt.Errorf("chat: unknown mode %q (want plain or secure)", s)
}
