package attack

import (
	"fmt"
	"io"
	"sync"

	"github.com/fatih/color"

	"chatlab/protocol"
)

// EventKind says what happened in an Event.
type EventKind int

// Kinds of events.
const (
	Connected EventKind = iota // a client connected and the server was reached
	Passed                     // a record or line went through (its copy as sent)
	Flipped                    // a client record was altered before forwarding
	Replayed                   // a copy of an earlier client record was sent
	Decrypted                  // the man in the middle read a message
	Refused                    // the client refused the relay's key
	Closed                     // the connection ended (Err says why, if it failed)
)

// Event is one thing the relay saw or did, for lessons and tests.
type Event struct {
	Conn       int       // connection number, from 1
	Kind       EventKind // what happened
	FromClient bool      // the record or message went client to server
	// Record is the client's data record (or line) number, from 1; zero
	// for handshake records and for the server's direction.
	Record int
	// Type is the record type in secure mode.
	Type protocol.RecordType
	// Body is a copy of the record body or line as forwarded.
	Body []byte
	// Text is a decrypted message (Decrypted).
	Text string
	// Err is why a connection ended or a key was refused (Closed, Refused).
	Err error
}

// printer writes the relay's report, one whole line per write, so it
// interleaves cleanly with a Wire printing to the same SyncWriter.
type printer struct {
	mu         sync.Mutex
	w          io.Writer
	tag, alert *color.Color
	plain      *color.Color
}

func newPrinter(w io.Writer, on bool) *printer {
	if w == nil {
		w = io.Discard
	}
	p := &printer{w: w, tag: color.New(color.FgRed), alert: color.New(color.FgRed, color.Bold), plain: color.New(color.Reset)}
	for _, c := range []*color.Color{p.tag, p.alert, p.plain} {
		if on {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
	}
	return p
}

func (p *printer) line(c *color.Color, format string, args ...any) {
	s := p.tag.Sprint("relay: ") + c.Sprintf(format, args...) + "\n"
	p.mu.Lock()
	defer p.mu.Unlock()
	io.WriteString(p.w, s)
}

func (p *printer) infof(format string, args ...any) { p.line(p.plain, format, args...) }
func (p *printer) warnf(format string, args ...any) { p.line(p.alert, format, args...) }

// SyncWriter serialises writes to w, so a relay and a sniffer can share
// one output without interleaving inside a line.
type SyncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewSyncWriter wraps w.
func NewSyncWriter(w io.Writer) *SyncWriter { return &SyncWriter{w: w} }

// Write writes b to the underlying writer, holding off other writers
// until it returns.
func (s *SyncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// shortHex shows the first bytes of b in hex, for one-line reports.
func shortHex(b []byte, max int) string {
	if len(b) <= max {
		return fmt.Sprintf("% x", b)
	}
	return fmt.Sprintf("% x … (%d bytes)", b[:max], len(b))
}
