package lessons

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"chatlab/protocol"
)

// recording keeps the bytes of every connection an eavesdropper saw, per
// direction, so a step can put them beside what was typed and check its
// claim on them.
type recording struct {
	mu    sync.Mutex
	conns []*wireConn
	// expected are client ends that must be seen before the recording
	// counts as finished.
	expected []netip.AddrPort
	// changed, if a waiter made it, is closed at the next change.
	changed chan struct{}
}

// touch wakes whoever waits for a change; r.mu is held.
func (r *recording) touch() {
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
}

// expect names a client end the recording must see.
func (r *recording) expect(client netip.AddrPort) {
	r.mu.Lock()
	r.expected = append(r.expected, client)
	r.touch()
	r.mu.Unlock()
}

// wireConn is one connection as seen on the wire.
type wireConn struct {
	client, server netip.AddrPort
	data           [2][]byte // [0] client → server, [1] server → client
	chunks         []chunk   // both directions in the order seen
	fin            [2]bool
}

type chunk struct {
	fromClient bool
	b          []byte
}

// Data records a chunk; it satisfies attack.Wire.
func (r *recording) Data(client, server netip.AddrPort, fromClient bool, payload []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.find(client, server)
	d := 1
	if fromClient {
		d = 0
	}
	c.data[d] = append(c.data[d], payload...)
	c.chunks = append(c.chunks, chunk{fromClient, append([]byte(nil), payload...)})
	r.touch()
}

// end marks a direction finished (a FIN or RST was seen).
func (r *recording) end(client, server netip.AddrPort, fromClient bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.find(client, server)
	if fromClient {
		c.fin[0] = true
	} else {
		c.fin[1] = true
	}
	r.touch()
}

func (r *recording) find(client, server netip.AddrPort) *wireConn {
	for _, c := range r.conns {
		if c.client == client && c.server == server {
			return c
		}
	}
	c := &wireConn{client: client, server: server}
	r.conns = append(r.conns, c)
	return c
}

// conn returns a copy of the connection whose client end is client.
func (r *recording) conn(client netip.AddrPort) (wireConn, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		if c.client == client {
			cp := *c
			cp.data = [2][]byte{bytes.Clone(c.data[0]), bytes.Clone(c.data[1])}
			cp.chunks = append([]chunk(nil), c.chunks...)
			return cp, true
		}
	}
	return wireConn{}, false
}

// pending names what keeps the recording from being finished: every
// connection seen, and each of them ended both ways. r.mu is held.
func (r *recording) pending() []string {
	if len(r.conns) == 0 {
		return []string{"no connection was seen"}
	}
	var out []string
	for _, want := range r.expected {
		seen := false
		for _, c := range r.conns {
			seen = seen || c.client == want
		}
		if !seen {
			out = append(out, fmt.Sprintf("the connection from %s was never seen", want))
		}
	}
	for _, c := range r.conns {
		var missing string
		switch {
		case !c.fin[0] && !c.fin[1]:
			missing = "no FIN from either side"
		case !c.fin[0]:
			missing = "no FIN from the client"
		case !c.fin[1]:
			missing = "no FIN from the server"
		default:
			continue
		}
		out = append(out, fmt.Sprintf("%s → %s: %s", c.client, c.server, missing))
	}
	return out
}

// waitFinished waits until the recording is finished: every expected
// connection seen, and each one ended both ways. After timeout it gives
// up with an error naming what did not end; when ctx is done it gives up
// at once, with ctx's error.
func (r *recording) waitFinished(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		left := r.pending()
		if len(left) == 0 {
			return nil
		}
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
			r.mu.Lock()
		case <-ctx.Done():
			r.mu.Lock()
			return ctx.Err()
		case <-t.C:
			r.mu.Lock()
			if left = r.pending(); len(left) == 0 {
				return nil
			}
			return fmt.Errorf("lessons: the capture did not drain within %v: %s", timeout, strings.Join(left, "; "))
		}
	}
}

// all returns every byte seen, both directions of every connection.
func (r *recording) all() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b []byte
	for _, c := range r.conns {
		b = append(b, c.data[0]...)
		b = append(b, c.data[1]...)
	}
	return b
}

// lines splits a plain-mode stream into its lines.
func lines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return append(out, b)
		}
		out = append(out, b[:i])
		b = b[i+1:]
	}
	return out
}

// wireRecord is one secure record as it crossed the wire.
type wireRecord struct {
	typ  protocol.RecordType
	raw  []byte // header and body
	body []byte
}

// records splits a secure stream into its records; a cut-off tail is
// dropped.
func records(b []byte) ([]wireRecord, error) {
	var out []wireRecord
	for len(b) > 0 {
		h, body, rest, err := protocol.ParseRecord(b)
		if errors.Is(err, protocol.ErrTruncated) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, wireRecord{typ: h.Type, raw: b[:len(b)-len(rest)], body: body})
		b = rest
	}
	return out, nil
}

// dataRecords keeps the data records.
func dataRecords(b []byte) []wireRecord {
	recs, _ := records(b)
	var out []wireRecord
	for _, r := range recs {
		if r.typ == protocol.TypeData {
			out = append(out, r)
		}
	}
	return out
}
