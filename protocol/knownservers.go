package protocol

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KnownServers is the known-servers file, like ssh's known_hosts: one line
// per server, "ADDRESS FINGERPRINT". The first connection to an address
// remembers its fingerprint (trust on first use); a later change is refused.
type KnownServers struct {
	Path string
}

// FingerprintChangedError is the loud refusal when a server's key differs
// from the one remembered for its address.
type FingerprintChangedError struct {
	Addr, Known, Got, Path string
	Line                   int
}

// Error explains the refusal and how to recover from it.
func (e *FingerprintChangedError) Error() string {
	return fmt.Sprintf("the server at %s has a different key than last time\n"+
		"    remembered: %s\n"+
		"    offered:    %s\n"+
		"someone may be intercepting this connection (a man in the middle), or the server's key was replaced.\n"+
		"if you know the key changed, delete line %d of %s", e.Addr, e.Known, e.Got, e.Line, e.Path)
}

// Lookup returns the fingerprint remembered for addr and its line number,
// or "" if there is none.
func (k KnownServers) Lookup(addr string) (fp string, line int, err error) {
	f, err := os.Open(k.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("protocol: known servers: %w", err)
	}
	defer f.Close()
	return lookupKnown(f, addr)
}

// lookupKnown finds addr's line in a known-servers file read from r.
func lookupKnown(r io.Reader, addr string) (fp string, line int, err error) {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && fields[0] == addr {
			return fields[1], n, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", 0, fmt.Errorf("protocol: known servers: %w", err)
	}
	return "", 0, nil
}

// Check compares fp with what is remembered for addr. A new address is
// remembered and reported with firstUse; a different key is a
// *FingerprintChangedError.
func (k KnownServers) Check(addr, fp string) (firstUse bool, err error) {
	known, line, err := k.Lookup(addr)
	if err != nil {
		return false, err
	}
	if known == "" {
		return true, k.add(addr, fp)
	}
	if known != fp {
		return false, &FingerprintChangedError{Addr: addr, Known: known, Got: fp, Path: k.Path, Line: line}
	}
	return false, nil
}

func (k KnownServers) add(addr, fp string) error {
	if err := os.MkdirAll(filepath.Dir(k.Path), 0o700); err != nil {
		return fmt.Errorf("protocol: known servers: %w", err)
	}
	f, err := os.OpenFile(k.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("protocol: known servers: %w", err)
	}
	_, werr := fmt.Fprintf(f, "%s %s\n", addr, fp)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("protocol: known servers: %w", werr)
	}
	return nil
}
