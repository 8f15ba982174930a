package lessons

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// Column widths of the side-by-side view, sized to fit 100 columns with
// the longest message a lesson types (lesson 8's, 31 characters).
const (
	typedWidth = 32
	wireWidth  = 46
)

// sideBySide prints what was typed beside what crossed the wire.
func (e *Env) sideBySide(left string, typed []string, right string, seen []string) {
	e.printf("\n  %s │ %s\n", e.pal.typed.Sprint(pad(left, typedWidth)), e.pal.wire.Sprint(right))
	e.printf("  %s┼%s\n", strings.Repeat("─", typedWidth+1), strings.Repeat("─", wireWidth))
	for i, t := range typed {
		s := "(nothing)"
		if i < len(seen) {
			s = seen[i]
		}
		e.printf("  %s │ %s\n", e.pal.typed.Sprint(pad(t, typedWidth)), e.pal.wire.Sprint(s))
	}
	e.printf("\n")
}

func pad(s string, w int) string {
	if n := utf8.RuneCountInString(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// wireView renders a unit as an eavesdropper sees it: the text of a
// plain line, or the start of a record in hex.
func wireView(unit []byte, plain bool) string {
	if plain {
		return fmt.Sprintf("%q", protocol.Sanitize(strings.TrimRight(string(unit), "\r")))
	}
	// Past the header and the nonce, which are the same in every record
	// but the sequence number, is the ciphertext.
	const show = 12
	skip := min(protocol.RecordHeaderLen+protocol.NonceSize, len(unit))
	ct := unit[skip:]
	if len(ct) > show {
		ct = ct[:show]
	}
	return fmt.Sprintf("% x … (%d bytes)", ct, len(unit))
}

// seenMessages returns the eavesdropper's view of each message the client
// at addr sent, after its name.
func seenMessages(rec *recording, addr netip.AddrPort, plain bool) ([]string, [][]byte) {
	c, ok := rec.conn(addr)
	if !ok {
		return nil, nil
	}
	var units [][]byte
	if plain {
		units = lines(c.data[0])
	} else {
		for _, r := range dataRecords(c.data[0]) {
			units = append(units, r.raw)
		}
	}
	if len(units) > 0 {
		units = units[1:] // the name
	}
	var views []string
	for _, u := range units {
		views = append(views, wireView(u, plain))
	}
	return views, units
}

// conversation is a finished chat between alice and bob.
type conversation struct {
	alice    netip.AddrPort // alice's end, to find her connection on the wire
	received []string       // what bob read
}

// converse has bob join, then alice, and alice type msgs; then both leave.
// When the relay alters records, bob connects straight to the server: the
// attack is on alice's connection, and bob's own records (his /quit) must
// reach the server unaltered.
func (w *world) converse(ctx context.Context, msgs []string, o clientOpts) (conversation, error) {
	ob := o
	ob.keyLog = nil // a key log is alice's alone
	if a := w.cfg.attack; a != nil && len(a.Flips)+len(a.Replays) > 0 {
		ob.direct = true
	}
	// Said before anyone connects, so it comes before the sniffer shows
	// the connections it describes.
	w.env.note(fmt.Sprintf("bob joins, then alice (%s); alice types %s", w.modeName(), count(len(msgs), "message")))
	bob, err := w.dial(ctx, "bob", ob)
	if err != nil {
		return conversation{}, err
	}
	defer bob.Close()
	if _, err := expect(bob, noticeContaining("you are bob")); err != nil {
		return conversation{}, err
	}
	alice, err := w.dial(ctx, "alice", o)
	if err != nil {
		return conversation{}, err
	}
	defer alice.Close()
	conv := conversation{alice: addrPortOf(alice)}
	if err := joined(bob, "alice"); err != nil {
		return conv, err
	}
	conv.received, err = say(alice, bob, msgs...)
	if err != nil {
		return conv, err
	}
	leave(alice)
	leave(bob)
	return conv, nil
}

// modeName says how the room is encrypted: its mode, or the weak suite
// that replaces secure mode's.
func (w *world) modeName() string {
	if w.cfg.suite != nil {
		return "weak suite " + w.cfg.suite.ID().String()
	}
	return w.cfg.mode.String() + " mode"
}

func addrPortOf(c *chat.Client) netip.AddrPort { return addrPortOfConn(c.NetConn()) }

// count says n things, singular for one.
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
