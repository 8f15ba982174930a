package lessons

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"chatlab/lessons/attack"
	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// mitmMessages returns what alice types through the man in the middle.
func mitmMessages() []string {
	return []string{"the door code is 4711", "see you inside"}
}

// mitm is a started man-in-the-middle world and what the attacker read.
type mitm struct {
	w      *world
	ev     *eavesdropper
	key    *rsa.PrivateKey
	mu     sync.Mutex
	read   []string
	refuse int
	// closed receives one value per relayed connection that has ended,
	// its report finished.
	closed chan struct{}
}

// maxMITMConns is the most connections one step makes through the man in
// the middle; closed holds that many ends without blocking the relay.
const maxMITMConns = 8

func (e *Env) startMITM(ctx context.Context) (*mitm, error) {
	key, err := rsa.GenerateKey(rand.Reader, protocol.RSABits)
	if err != nil {
		return nil, fmt.Errorf("lessons: attacker key: %w", err)
	}
	m := &mitm{key: key, closed: make(chan struct{}, maxMITMConns)}
	ev, err := e.eavesdrop(ctx, eavesConfig{quiet: true})
	if err != nil {
		return nil, err
	}
	m.ev = ev
	observe := func(ev attack.Event) {
		m.mu.Lock()
		defer m.mu.Unlock()
		switch {
		case ev.Kind == attack.Decrypted && ev.FromClient:
			m.read = append(m.read, ev.Text)
		case ev.Kind == attack.Refused:
			m.refuse++
		case ev.Kind == attack.Closed:
			select {
			case m.closed <- struct{}{}:
			default:
			}
		}
	}
	m.w, err = e.newWorld(worldConfig{mode: chat.Secure, eaves: ev, attack: &attack.Config{SwapKey: true, Key: key, Observe: observe}})
	if err != nil {
		return nil, ev.finish(err)
	}
	return m, nil
}

// finish stops the world and the eavesdropper, and returns err, or the
// eavesdropper's error if err is nil.
func (m *mitm) finish(err error) error {
	m.w.close()
	return m.ev.finish(err)
}

// relayDone waits until the relay has finished with a connection, so its
// report is printed before whatever the step prints next.
func (m *mitm) relayDone(ctx context.Context) {
	t := time.NewTimer(talkTimeout)
	defer t.Stop()
	select {
	case <-m.closed:
	case <-ctx.Done():
	case <-t.C:
	}
}

func (m *mitm) seen() ([]string, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.read...), m.refuse
}

// stepMITM: the relay swaps the key and reads everything.
func stepMITM(ctx context.Context, e *Env) error {
	e.banner("Live: the relay swaps the server's key for its own; the clients check nothing, like the original")
	m, err := e.startMITM(ctx)
	if err != nil {
		return err
	}
	msgs := mitmMessages()
	conv, err := m.w.converse(ctx, msgs, clientOpts{})
	if err := m.finish(err); err != nil {
		return err
	}
	read, _ := m.seen()
	var shown []string
	for _, msg := range msgs {
		if contains(read, msg) {
			shown = append(shown, fmt.Sprintf("%q", msg))
		} else {
			shown = append(shown, "(nothing)")
		}
	}
	e.sideBySide("what alice typed", msgs, "what the man in the middle read", shown)
	for i, msg := range msgs {
		if i >= len(conv.received) || conv.received[i] != msg {
			return failed("bob should have received alice's messages intact, so nobody notices; he got %q", conv.received)
		}
		if !contains(read, msg) {
			return failed("the man in the middle should have read %q", msg)
		}
	}
	e.alarm("the man in the middle read every message, and alice and bob noticed nothing")
	return nil
}

// stepPinning: a pinned fingerprint refuses the swapped key.
func stepPinning(ctx context.Context, e *Env) error {
	e.banner("Live: alice pins the server's fingerprint, which she got out of band")
	m, err := e.startMITM(ctx)
	if err != nil {
		return err
	}
	real := protocol.Fingerprint(&m.w.key.PublicKey)
	e.note("alice: bin/chat client --fingerprint " + real)
	_, err = m.w.dial(ctx, "alice", clientOpts{fingerprint: real})
	if err := m.finish(nil); err != nil {
		return err
	}
	read, refused := m.seen()
	if !errors.Is(err, chat.ErrPinMismatch) {
		return failed("alice's client should have refused the swapped key; it said %v", err)
	}
	e.printf("  alice's client: %s\n", indentLines(withoutPackagePrefixes(err.Error()), "  ")[2:])
	if len(read) > 0 || refused != 1 {
		return failed("the man in the middle should have read nothing and seen one refusal; it read %d messages", len(read))
	}
	e.claim("the pinned fingerprint did not match: alice's client refused before sending a single byte of key or message")
	return nil
}

// stepTOFU: trust on first use catches a later swap, not a first one.
func stepTOFU(ctx context.Context, e *Env) (err error) {
	e.banner("Live: trust on first use, when alice met the real server first")
	m, err := e.startMITM(ctx)
	if err != nil {
		return err
	}
	defer func() { err = m.finish(err) }()
	known := &protocol.KnownServers{Path: filepath.Join(e.Dir, "alice-known_servers")}
	first, err := m.w.dial(ctx, "alice", clientOpts{known: known, direct: true})
	if err != nil {
		return err
	}
	e.note(fmt.Sprintf("alice's first connection went straight to the server; her client remembered %s", first.Fingerprint))
	leave(first)
	_, err = m.w.dial(ctx, "alice", clientOpts{known: known})
	m.relayDone(ctx)
	var changed *protocol.FingerprintChangedError
	if !errors.As(err, &changed) {
		return failed("with the real key remembered, alice's client should refuse the swapped key; it said %v", err)
	}
	e.printf("%s\n", indentLines(withoutPackagePrefixes(err.Error()), "  "))
	e.claim("the remembered key did not match: the man in the middle was refused")

	e.banner("Live: trust on first use, when the attacker was there from the start")
	known2 := &protocol.KnownServers{Path: filepath.Join(e.Dir, "carol-known_servers")}
	carol, err := m.w.dial(ctx, "carol", clientOpts{known: known2})
	if err != nil {
		return failed("on first use nothing can tell the keys apart; carol's client should accept: %v", err)
	}
	fp := carol.Fingerprint
	leave(carol)
	m.relayDone(ctx)
	if fp != protocol.Fingerprint(&m.key.PublicKey) || !carol.FirstUse {
		return failed("carol's client should have remembered the attacker's key on first use")
	}
	e.alarm("carol's first connection was intercepted: her client remembered the attacker's key as the server's")
	_, err = m.w.dial(ctx, "carol", clientOpts{known: known2, direct: true})
	if !errors.As(err, &changed) {
		return failed("now the real server should look like the impostor to carol; her client said %v", err)
	}
	e.alarm("and now the real server is the one carol's client refuses")
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
