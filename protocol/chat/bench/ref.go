package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"

	"chatlab/protocol"
)

// The reference hub is what chatlab is measured against: the same one-room
// hub (the first line is a name, then every line goes to every other
// member as "NAME: line", and a join is answered with a greeting), written
// as plainly as Go allows, over TCP or over crypto/tls 1.3 with an
// RSA-2048 certificate. The same lean clients drive it and chatlab.

// Targets: which server a run measures.
const (
	TargetChatlab = "chatlab"
	TargetRef     = "reference"
)

// refGreeting is the reference hub's answer to a name, as chatlab's
// greeting starts.
const refGreeting = "* you are "

// refHub is a running reference hub.
type refHub struct {
	ln   net.Listener
	tls  *tls.Config // nil for plain TCP
	mu   sync.Mutex
	room map[*refMember]struct{}
	wg   sync.WaitGroup
}

type refMember struct {
	conn  net.Conn
	mu    sync.Mutex
	queue []string
	spare []string
	done  bool
	wake  chan struct{}
}

// startRefHub listens on 127.0.0.1:0; cfg nil means plain TCP.
func startRefHub(cfg *tls.Config) (*refHub, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("bench: listen on loopback: %w", err)
	}
	h := &refHub{ln: ln, tls: cfg, room: make(map[*refMember]struct{})}
	h.wg.Add(1)
	go h.serve()
	return h, ln.Addr().String(), nil
}

func (h *refHub) serve() {
	defer h.wg.Done()
	for {
		c, err := h.ln.Accept()
		if err != nil {
			return
		}
		if h.tls != nil {
			c = tls.Server(c, h.tls)
		}
		h.wg.Add(1)
		go h.handle(c)
	}
}

// close stops the hub and waits for its goroutines.
func (h *refHub) close() error {
	h.ln.Close()
	h.mu.Lock()
	for m := range h.room {
		m.conn.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
	return nil
}

func (h *refHub) handle(c net.Conn) {
	defer h.wg.Done()
	defer c.Close()
	// chatlab reads this much at a time while a member is busy, and 2 KiB
	// while it is idle; the reference reads this much at all times.
	br := bufio.NewReaderSize(c, protocol.BusyReadBufferSize)
	name, err := br.ReadString('\n')
	if err != nil {
		return
	}
	name = name[:len(name)-1]
	m := &refMember{conn: c, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	h.room[m] = struct{}{}
	h.mu.Unlock()
	m.send(refGreeting + name)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		m.write()
	}()
	prefix := name + ": "
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			break
		}
		out := prefix + string(line[:len(line)-1])
		h.mu.Lock()
		for o := range h.room {
			if o != m {
				o.send(out)
			}
		}
		h.mu.Unlock()
	}
	h.mu.Lock()
	delete(h.room, m)
	h.mu.Unlock()
	m.mu.Lock()
	m.done = true
	m.mu.Unlock()
	m.poke()
}

func (m *refMember) send(line string) {
	m.mu.Lock()
	m.queue = append(m.queue, line)
	m.mu.Unlock()
	m.poke()
}

func (m *refMember) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// write sends what is queued, one write per wake-up; over TLS that is as
// few records as crypto/tls makes of it.
func (m *refMember) write() {
	defer m.conn.Close()
	var buf []byte
	for range m.wake {
		m.mu.Lock()
		batch, done := m.queue, m.done
		m.queue, m.spare = m.spare[:0], nil
		m.mu.Unlock()
		buf = buf[:0]
		for _, l := range batch {
			buf = append(buf, l...)
			buf = append(buf, '\n')
		}
		if len(buf) > 0 {
			if _, err := m.conn.Write(buf); err != nil {
				return
			}
		}
		clear(batch)
		m.mu.Lock()
		m.spare = batch[:0]
		m.mu.Unlock()
		if done {
			return
		}
	}
}

// dialRef joins the reference hub at addr as name, over TLS when cfg is
// set.
func dialRef(ctx context.Context, addr string, cfg *tls.Config, name string) (*lineClient, error) {
	c, err := dialLoopback(ctx, addr)
	if err != nil {
		return nil, err
	}
	if cfg != nil {
		tc := tls.Client(c, cfg)
		c.SetDeadline(time.Now().Add(waitTimeout))
		if err := tc.Handshake(); err != nil {
			c.Close()
			return nil, fmt.Errorf("bench: TLS handshake: %w", err)
		}
		c = tc
	}
	lc := newLineClient(c)
	if err := lc.SendBatch(name); err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Now().Add(waitTimeout))
	greeting, err := lc.ReadRawBytes()
	c.SetDeadline(time.Time{})
	if err != nil || string(greeting) != refGreeting+name {
		c.Close()
		return nil, errors.Join(fmt.Errorf("bench: no greeting from the reference hub: %q", greeting), err)
	}
	return lc, nil
}

// refTLS makes the hub's and the clients' TLS 1.3 configurations, with a
// self-signed certificate for key, which the clients pin.
func refTLS(key *rsa.PrivateKey) (server, client *tls.Config, err error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "chatlab reference hub"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("bench: reference certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
	}
	client = &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, ServerName: "127.0.0.1"}
	return server, client, nil
}
