package attack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// readChunk is how much one read from either side takes. Records and
// lines are small; a chunk often holds several.
const readChunk = 4096

// maxUnit is the largest record or line the relay buffers while waiting
// for its end. Anything larger is not chatlab's and passes through raw.
const maxUnit = protocol.RecordHeaderLen + protocol.MaxRecordBody

// connState is what both directions of one connection share.
type connState struct {
	id             int
	client, server netip.AddrPort

	mu    sync.Mutex
	suite protocol.SuiteID // from the server's hello; zero until seen
}

func (cs *connState) setSuite(id protocol.SuiteID) {
	cs.mu.Lock()
	cs.suite = id
	cs.mu.Unlock()
}

func (cs *connState) getSuite() protocol.SuiteID {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.suite
}

// relay runs both directions until both have ended. When one side
// finishes sending, the other side's write half is closed, as a real
// path would pass the FIN along.
func (r *Relay) relay(cs *connState, client, up net.Conn) error {
	errs := make(chan error, 2)
	go func() { errs <- r.pump(cs, client, up, true) }()
	go func() { errs <- r.pump(cs, up, client, false) }()
	first := <-errs
	var mm *ModeMismatchError
	if errors.As(first, &mm) {
		// Nothing useful can cross: cut the client off at once, so it
		// fails now rather than after its handshake timeout.
		client.Close()
		up.Close()
	}
	second := <-errs
	if first != nil {
		return first
	}
	return second
}

// direction is one half of a relayed connection.
type direction struct {
	r          *Relay
	cs         *connState
	dst        net.Conn
	fromClient bool
	records    int            // client data records seen
	saved      map[int][]byte // records kept for a replay
	raw        bool           // not chatlab framing: pass bytes through
}

// pump copies src to dst unit by unit, altering client records as asked.
func (r *Relay) pump(cs *connState, src, dst net.Conn, fromClient bool) error {
	d := &direction{r: r, cs: cs, dst: dst, fromClient: fromClient, saved: map[int][]byte{}}
	// A relay that neither alters, shows, numbers nor reports units
	// passes bytes straight through, so it never holds back a stream that
	// is not made of lines (the original program's frames).
	d.raw = r.cfg.Mode == chat.Plain && len(r.cfg.Flips) == 0 && len(r.cfg.Replays) == 0 &&
		!r.cfg.ShowTraffic && !r.cfg.NumberRecords && r.cfg.Observe == nil
	defer closeWrite(dst)
	buf := make([]byte, 0, readChunk)
	chunk := make([]byte, readChunk)
	checked := fromClient // only the server's first bytes are checked
	for {
		n, err := src.Read(chunk)
		if n > 0 && !checked {
			checked = true
			if merr := r.checkServer(chunk[:n]); merr != nil {
				return merr
			}
		}
		if n > 0 {
			buf = append(buf, chunk[:n]...)
			var werr error
			if buf, werr = d.forward(buf); werr != nil {
				return werr
			}
		}
		if err != nil {
			if len(buf) > 0 {
				r.wire(cs, fromClient, buf)
				d.write(buf) // a cut-off unit goes on as it is
			}
			if fromClient {
				d.missedReplays()
			}
			if isEOF(err) {
				return nil
			}
			return err
		}
	}
}

// forward sends every whole unit at the front of buf and returns the rest.
func (d *direction) forward(buf []byte) ([]byte, error) {
	for len(buf) > 0 {
		if d.raw {
			d.r.wire(d.cs, d.fromClient, buf)
			return buf[:0], d.write(buf)
		}
		unit, rest, ok := d.split(buf)
		if !ok {
			if len(buf) > maxUnit {
				d.raw = true
				continue
			}
			break
		}
		if err := d.handle(unit); err != nil {
			return nil, err
		}
		buf = append(buf[:0], rest...)
	}
	return buf, nil
}

// split cuts the first whole record (secure) or line (plain) from buf.
func (d *direction) split(buf []byte) (unit, rest []byte, ok bool) {
	if d.r.cfg.Mode == chat.Plain {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			return nil, buf, false
		}
		return buf[:i+1], buf[i+1:], true
	}
	_, body, rest, err := protocol.ParseRecord(buf)
	switch {
	case errors.Is(err, protocol.ErrTruncated):
		return nil, buf, false
	case err != nil:
		d.r.out.warnf("#%d %s sent something that is not a chatlab record (%v); passing bytes through unread", d.cs.id, d.who(), err)
		d.raw = true
		return nil, buf, false
	}
	return buf[:protocol.RecordHeaderLen+len(body)], rest, true
}

// handle forwards one unit, with any flips and replays that apply to it.
func (d *direction) handle(unit []byte) error {
	unit = append([]byte(nil), unit...)
	var typ protocol.RecordType
	body := unit
	if d.r.cfg.Mode == chat.Secure {
		typ = protocol.RecordType(unit[0])
		body = unit[protocol.RecordHeaderLen:]
		if typ == protocol.TypeHello && !d.fromClient {
			if h, err := protocol.ParseHello(body); err == nil {
				d.cs.setSuite(h.Suite)
				d.r.out.infof("#%d server hello: suite %s", d.cs.id, h.Suite)
				d.r.out.infof("#%d   server key %s", d.cs.id, protocol.FingerprintDER(h.KeyDER))
			}
		}
	}
	rec := 0
	if d.fromClient && (d.r.cfg.Mode == chat.Plain || typ == protocol.TypeData) {
		d.records++
		rec = d.records
	}
	if rec > 0 && d.r.cfg.NumberRecords {
		d.r.out.infof("#%d client record %d follows (use %d in --flip, --edit, --replay)", d.cs.id, rec, rec)
	}
	// The Wire sees the unit as the client sent it, before any flip.
	d.r.wire(d.cs, d.fromClient, unit)
	if rec > 0 && d.wantsSaved(rec) {
		d.saved[rec] = append([]byte(nil), unit...)
	}
	if rec > 0 {
		d.flip(rec, body)
	}
	d.report(rec, typ, body)
	if err := d.write(unit); err != nil {
		return err
	}
	for _, rp := range d.r.cfg.Replays {
		if rp.After == rec && rec > 0 {
			again := d.saved[rp.Record]
			d.r.out.warnf("#%d REPLAY: sending client record %d to the server again, byte for byte (%d bytes)", d.cs.id, rp.Record, len(again))
			d.r.emit(Event{Conn: d.cs.id, Kind: Replayed, FromClient: true, Record: rp.Record, Type: typ, Body: again})
			if err := d.write(again); err != nil {
				return err
			}
		}
	}
	return nil
}

// missedReplays reports the replays that never happened because the
// client's side ended before the record they wait for.
func (d *direction) missedReplays() {
	for _, rp := range d.r.cfg.Replays {
		if rp.After > d.records {
			d.r.out.warnf("#%d --replay %s did not happen: the client sent %d records, then its side ended",
				d.cs.id, rp, d.records)
		}
	}
}

func (d *direction) wantsSaved(rec int) bool {
	for _, rp := range d.r.cfg.Replays {
		if rp.Record == rec {
			return true
		}
	}
	return false
}

// report prints and emits what passed.
func (d *direction) report(rec int, typ protocol.RecordType, body []byte) {
	e := Event{Conn: d.cs.id, Kind: Passed, FromClient: d.fromClient, Record: rec, Type: typ, Body: append([]byte(nil), body...)}
	d.r.emit(e)
	if !d.r.cfg.ShowTraffic {
		return
	}
	what := fmt.Sprintf("%s record, %d bytes: %s", typ, len(body), shortHex(body, 16))
	if d.r.cfg.Mode == chat.Plain {
		what = fmt.Sprintf("line %q", protocol.Sanitize(string(bytes.TrimRight(body, "\r\n"))))
	}
	if rec > 0 {
		what = fmt.Sprintf("[%d] %s", rec, what)
	}
	d.r.out.infof("#%d %s: %s", d.cs.id, d.who(), what)
}

func (d *direction) who() string {
	if d.fromClient {
		return "client → server"
	}
	return "server → client"
}

func (d *direction) write(b []byte) error {
	_, err := d.dst.Write(b)
	return err
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
		return
	}
	c.Close()
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}
