package lessons

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"chatlab/protocol/chat"
	"chatlab/sniff/event"
)

// stepSecureChat: the same chat in secure mode is unreadable.
func stepSecureChat(ctx context.Context, e *Env) error {
	e.banner("Live: the same chat in secure mode, the handshake dissected field by field")
	msgs := demoMessages()
	rec, err := watchedChat(ctx, e, chat.Secure, msgs)
	if err != nil {
		return err
	}
	wire := rec.all()
	for _, m := range msgs {
		for _, word := range bytes.Fields([]byte(m)) {
			if len(word) >= 5 && bytes.Contains(wire, word) {
				return failed("the eavesdropper found %q from alice's messages on the wire", word)
			}
		}
	}
	e.claim("not one word of alice's messages is on the wire")
	return nil
}

// stepCompare: entropy and printable share of both modes, side by side.
func stepCompare(ctx context.Context, e *Env) error {
	e.banner("Live: both modes again, measured by the sniffer")
	ev, err := e.eavesdrop(ctx, eavesConfig{quiet: true, stats: true})
	if err != nil {
		return err
	}
	for _, mode := range []chat.Mode{chat.Plain, chat.Secure} {
		w, err := e.newWorld(worldConfig{mode: mode, eaves: ev})
		if err != nil {
			return ev.finish(err)
		}
		_, err = w.converse(ctx, demoMessages(), clientOpts{})
		w.close()
		if err != nil {
			return ev.finish(err)
		}
	}
	// The sniffer prints its summary table as it stops.
	stats, err := ev.stop()
	if err != nil {
		return err
	}
	plain, secure, err := byProto(stats)
	if err != nil {
		return err
	}
	e.printf("\n  %-7s %-26s %s\n", "", "entropy (bits/byte)", "printable bytes")
	for _, s := range []event.ConnStats{plain, secure} {
		name := "plain"
		if s.Proto == event.ProtoSecure {
			name = "secure"
		}
		e.printf("  %-7s %4.2f %s  %3.0f%% %s\n", name, s.Entropy, bar(s.Entropy/8), 100*s.Printable, bar(s.Printable))
	}
	e.printf("\n")
	if !(secure.Entropy > plain.Entropy && secure.Printable < plain.Printable) {
		return failed("secure traffic should have higher entropy and fewer printable bytes than plain (plain %.2f/%.0f%%, secure %.2f/%.0f%%)",
			plain.Entropy, 100*plain.Printable, secure.Entropy, 100*secure.Printable)
	}
	e.claim(fmt.Sprintf("secure traffic looks random: %.2f bits/byte against %.2f, %.0f%% printable against %.0f%%",
		secure.Entropy, plain.Entropy, 100*secure.Printable, 100*plain.Printable))
	return nil
}

// byProto picks the plain and the secure connection's numbers.
func byProto(stats []event.ConnStats) (plain, secure event.ConnStats, err error) {
	var havePlain, haveSecure bool
	for _, s := range stats {
		switch s.Proto {
		case event.ProtoPlain:
			plain, havePlain = s, true
		case event.ProtoSecure:
			secure, haveSecure = s, true
		}
	}
	if !havePlain || !haveSecure {
		return plain, secure, failed("the sniffer should have recognised one plain and one secure connection, it saw %d connections", len(stats))
	}
	return plain, secure, nil
}

// barWidth is the width of the comparison's bar graphs.
const barWidth = 20

// bar draws share (0 to 1) as a bar.
func bar(share float64) string {
	n := min(max(int(share*barWidth+0.5), 0), barWidth)
	return strings.Repeat("█", n) + strings.Repeat("░", barWidth-n)
}
