package lessons

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"chatlab/lessons/attack"
	"chatlab/lessons/original"
	"chatlab/protocol"
	"chatlab/protocol/chat"
	"chatlab/protocol/legacy"
	"chatlab/protocol/weak"
	"chatlab/sniff/manytime"
)

// ivMessages returns lesson 3's messages: the first two are the same, the
// third is what an eavesdropper who guesses the first recovers.
func ivMessages() []string {
	return []string{"attack at dawn", "attack at dawn", "retreat at once"}
}

// ivChat runs the iv messages under suite and returns the ciphertexts
// alice's records carried (nonce and tag cut off).
func ivChat(ctx context.Context, e *Env, suite protocol.CipherSuite) ([][]byte, error) {
	ev, err := e.eavesdrop(ctx, eavesConfig{quiet: true})
	if err != nil {
		return nil, err
	}
	var w *world
	o := clientOpts{}
	if suite != nil {
		w, o, err = weakWorld(e, ev, suite, nil)
	} else {
		w, err = e.newWorld(worldConfig{mode: chat.Secure, eaves: ev})
	}
	if err != nil {
		return nil, ev.finish(err)
	}
	msgs := ivMessages()
	conv, err := w.converse(ctx, msgs, o)
	w.close()
	if err := ev.finish(err); err != nil {
		return nil, err
	}
	_, units := seenMessages(ev.rec, conv.alice, false)
	var cts [][]byte
	var views []string
	for _, u := range units[:min(len(units), len(msgs))] {
		body := u[protocol.RecordHeaderLen:]
		ct := body[protocol.NonceSize : len(body)-protocol.TagSize]
		cts = append(cts, ct)
		views = append(views, fmt.Sprintf("nonce %x ct % x", body[:protocol.NonceSize], ct[:min(8, len(ct))]))
	}
	e.sideBySide("what alice typed", msgs, "on the wire (the whole nonce, start of ciphertext)", views)
	if len(cts) != len(msgs) {
		return nil, failed("the eavesdropper should have seen %d records from alice, it saw %d", len(msgs), len(cts))
	}
	return cts, nil
}

// stepFixedIV: a fixed IV repeats ciphertexts and reuses the keystream.
func stepFixedIV(ctx context.Context, e *Env) error {
	e.banner("Live: AES-GCM with the same all-zero nonce on every record")
	cts, err := ivChat(ctx, e, weak.FixedIVGCM())
	if err != nil {
		return err
	}
	if !bytes.Equal(cts[0], cts[1]) {
		return failed("with a fixed IV, the two identical messages should have identical ciphertexts")
	}
	e.alarm("the same message gave the same ciphertext: the eavesdropper sees that alice repeated herself")
	// Keystream reuse: c1 XOR c3 = p1 XOR p3, so a guess at p1 gives p3.
	msgs := ivMessages()
	guess := []byte(msgs[0])
	n := min(len(guess), len(cts[2]))
	rec := make([]byte, n)
	for i := range n {
		rec[i] = cts[0][i] ^ cts[2][i] ^ guess[i]
	}
	e.printf("  the eavesdropper guesses message 1 is %q;\n  ciphertext 1 ⊕ ciphertext 3 ⊕ guess = %q\n\n", guess, rec)
	if string(rec) != msgs[2][:n] {
		return failed("the reused keystream should give away message 3, got %q", rec)
	}
	e.alarm("one guessed message decrypted another, without the key")
	return nil
}

// stepFreshNonce: the default suite never repeats a nonce.
func stepFreshNonce(ctx context.Context, e *Env) error {
	e.banner("Live: the same messages with chatlab's default suite")
	cts, err := ivChat(ctx, e, nil)
	if err != nil {
		return err
	}
	if bytes.Equal(cts[0], cts[1]) {
		return failed("with a fresh nonce per record, identical messages should give different ciphertexts")
	}
	e.claim("a fresh nonce per record: the same message looks different every time, and no keystream repeats")
	return nil
}

// originalMessages returns a short conversation in the original program's
// format: alice's messages (originalReplies has bob's), which the original
// server relayed down alice's connection under her key. The sniffer
// recovers it from the reused keystream alone.
func originalMessages() []string {
	return []string{"hello bob", "the safe code is 0451, don't tell anyone", "ok", "bye"}
}

// originalReplies returns bob's answers to originalMessages.
func originalReplies() []string {
	return []string{"hi", "yes", "k", "cu"}
}

// originalSecret is the message the lesson's claim is about.
const originalSecret = "the safe code is 0451"

// originalCribs returns guesses a passive eavesdropper would make.
func originalCribs() []string {
	return []string{"alice", "hello"}
}

// stepOriginal: the original program's traffic, and the sniffer's
// recovery of its text by the reused keystream.
func stepOriginal(ctx context.Context, e *Env) error {
	if e.Original != "" {
		return stepRealOriginal(ctx, e)
	}
	e.note("This step runs chatlab's Go model of the original format. The real C program can run too, as root:")
	e.note("  lesson 3 --original DIR   (DIR: the original program's source; built with gcc and libssl-dev)")
	e.banner("Live: the original C program's format on loopback; the sniffer works alone, with no key")
	var out strings.Builder
	// The sniffer's report goes to out: the step shows its IV-reuse part
	// and checks the claim on it.
	ev, err := e.eavesdrop(ctx, eavesConfig{cribs: originalCribs(), out: &out})
	if err != nil {
		return err
	}
	if err := originalSession(ctx, e, ev, originalMessages()); err != nil {
		return ev.finish(err)
	}
	if _, err := ev.stop(); err != nil {
		return err
	}
	report := out.String()
	e.printf("%s\n", recoverySection(report))
	if !strings.Contains(report, "IV reuse") {
		return failed("the sniffer should have warned about IV reuse")
	}
	// The terminal view wraps long lines with a hanging indent; the
	// claim is about the text, wherever the line broke.
	if !strings.Contains(strings.Join(strings.Fields(sgrSeq.ReplaceAllString(report, "")), " "), originalSecret) {
		return failed("the sniffer should have recovered %q from the frames", originalSecret)
	}
	e.alarm(fmt.Sprintf("with no key at all, the sniffer recovered %q", originalSecret))
	return nil
}

// recoverySection keeps the IV-reuse lines of the sniffer's report.
func recoverySection(report string) string {
	var keep []string
	on, warning := false, false
	for _, l := range strings.Split(report, "\n") {
		plain := sgrSeq.ReplaceAllString(l, "")
		if strings.Contains(plain, "IV reuse recovery") {
			on = true
		}
		// A warning the sniffer wrapped goes on in lines indented two more.
		continued := warning && strings.HasPrefix(plain, "        ")
		warning = strings.HasPrefix(strings.TrimSpace(plain), "IV reuse: ") || continued
		if on || warning {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// originalSession runs one client of the original program, sending msgs
// to a server that reads them, watched by ev.
func originalSession(ctx context.Context, e *Env, ev *eavesdropper, msgs []string) error {
	key, err := e.serverKey()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("lessons: listen: %w", err)
	}
	defer ln.Close()
	got := make(chan []legacy.Message, 1)
	go func() {
		var all []legacy.Message
		defer func() { got <- all }()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		lc, err := legacy.Server(c, key)
		if err != nil {
			return
		}
		for _, reply := range originalReplies() {
			m, err := lc.ReadFrame()
			if err != nil {
				return
			}
			all = append(all, m)
			if lc.WriteFrame(legacy.Message{Name: "bob", Text: reply}) != nil {
				return
			}
		}
	}()
	target := ln.Addr().String()
	if ev.capture {
		ev.watchPort(uint16(ln.Addr().(*net.TCPAddr).Port))
	} else {
		r, err := attack.New(attack.Config{Upstream: target, Mode: chat.Plain, Wire: ev})
		if err != nil {
			return err
		}
		rln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("lessons: listen: %w", err)
		}
		go r.Serve(rln)
		defer r.Close()
		target = rln.Addr().String()
	}
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", target)
	if err != nil {
		return fmt.Errorf("lessons: connect: %w", err)
	}
	defer context.AfterFunc(ctx, func() { c.Close() })()
	ev.rec.expect(addrPortOfConn(c))
	lc, _, err := legacy.Client(c, nil)
	if err != nil {
		c.Close()
		return err
	}
	e.note(fmt.Sprintf("alice and bob exchange %d messages in the original format: 268-byte frames, all-zero IV, no tag", 2*len(msgs)))
	for _, m := range msgs {
		if err := lc.WriteFrame(legacy.Message{Name: "alice", Text: m}); err != nil {
			c.Close()
			return err
		}
		if _, err := lc.ReadFrame(); err != nil {
			c.Close()
			return err
		}
	}
	closeWrite(c)
	received := <-got
	c.Close()
	if len(received) != len(msgs) {
		return fmt.Errorf("lessons: the original-format server read %d of %d frames", len(received), len(msgs))
	}
	return nil
}

func addrPortOfConn(c net.Conn) netip.AddrPort {
	ap, _ := netip.ParseAddrPort(c.LocalAddr().String())
	return ap
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

// stepRealOriginal builds the real original program from e.Original,
// runs one of its scripted conversations in a network namespace, captures
// it and recovers it from the capture alone.
func stepRealOriginal(ctx context.Context, e *Env) error {
	e.banner("Live: the real original C program, in a network namespace; recovered from the capture alone")
	p, err := original.Build(ctx, e.Original, e.Dir)
	if err != nil {
		return err
	}
	s := original.Conversations()[1]
	c, err := original.Run(ctx, original.Config{Programs: p}, s)
	if err != nil {
		return err
	}
	frames, err := original.Frames(c.Pcap)
	if err != nil {
		return err
	}
	var in manytime.Input
	in.Layout = manytime.Original
	for i, f := range frames {
		dir := manytime.ServerToClient
		if f.FromClient {
			dir = manytime.ClientToServer
		}
		in.Frames = append(in.Frames, manytime.Frame{N: i + 1, Dir: dir, Ciphertext: f.Bytes[legacy.IVSize:]})
	}
	e.note(fmt.Sprintf("%s and %s typed %d lines; the wire carried %d frames of 268 bytes, all with the zero IV", s.ServerName, s.ClientName, len(s.Lines), len(frames)))
	res := manytime.Solve(in)
	for _, l := range append(res.Leaks, res.Notes...) {
		e.printf("  %s\n", l)
	}
	for _, r := range res.Frames {
		e.printf("  frame %d %s ", r.N, r.Dir)
		for _, f := range r.Fields {
			e.printf(" %s %s", f.Name, e.recovered(r, f))
		}
		e.printf("\n")
	}
	total := res.Certain + res.Likely + res.Unknown
	e.printf("\n  %d of %d bytes recovered: %d certain (bold: forced by the padding), %d likely (plain: from\n  English statistics over all frames), %d unknown (·)\n\n", res.Certain+res.Likely, total, res.Certain, res.Likely, res.Unknown)
	if 10*(res.Certain+res.Likely) < 9*total {
		return failed("the recovery should have read at least 90%% of the real program's traffic, it read %d of %d bytes", res.Certain+res.Likely, total)
	}
	e.alarm("with no key at all, the eavesdropper read the real program's conversation")
	return nil
}

// recovered shows one field: certain bytes bold, likely ones plain,
// unknown ones as ·, which no one types.
func (e *Env) recovered(r manytime.Recovered, f manytime.Field) string {
	var b strings.Builder
	b.WriteString("\"")
	for j := f.Start; j < f.End; j++ {
		c := r.Plain[j]
		switch {
		case r.Grade[j] == manytime.Unknown:
			b.WriteString(e.pal.dim.Sprint("·"))
		case c < 0x20 || c > 0x7e:
			b.WriteString(fmt.Sprintf("\\x%02x", c))
		case r.Grade[j] == manytime.Certain:
			b.WriteString(e.pal.bold.Sprint(string(rune(c))))
		default:
			b.WriteString(string(rune(c)))
		}
	}
	b.WriteString("\"")
	return b.String()
}
