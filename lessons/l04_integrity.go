package lessons

import (
	"context"
	"fmt"
	"strings"

	"chatlab/lessons/attack"
	"chatlab/protocol"
	"chatlab/protocol/chat"
	"chatlab/protocol/weak"
)

// The payment message of lessons 4 and 6, and the attacker's edit.
const (
	payMessage = "pay 100 to bob"
	payEdited  = "pay 900 to bob"
	payEdit    = "2:pay 100=pay 900"
)

// weakWorld starts a secure world with a weak suite, saying so.
func weakWorld(e *Env, ev *eavesdropper, suite protocol.CipherSuite, a *attack.Config) (*world, clientOpts, error) {
	e.note(weak.Warning + ": " + suite.ID().String())
	w, err := e.newWorld(worldConfig{mode: chat.Secure, suite: suite, attack: a, eaves: ev})
	return w, clientOpts{suites: []protocol.CipherSuite{suite}}, err
}

// attackedChat runs alice and bob under the attack a with suite (nil for
// the default), alice sending msgs; it returns what bob read and ends the
// eavesdropper.
func attackedChat(ctx context.Context, e *Env, suite protocol.CipherSuite, a *attack.Config, msgs ...string) (conversation, error) {
	ev, err := e.eavesdrop(ctx, eavesConfig{quiet: true})
	if err != nil {
		return conversation{}, err
	}
	var w *world
	o := clientOpts{}
	if suite != nil {
		w, o, err = weakWorld(e, ev, suite, a)
	} else {
		w, err = e.newWorld(worldConfig{mode: chat.Secure, attack: a, eaves: ev})
	}
	if err != nil {
		return conversation{}, ev.finish(err)
	}
	conv, err := w.converse(ctx, msgs, o)
	w.close()
	return conv, ev.finish(err)
}

// stepCBCFlip: CBC without a MAC delivers a chosen edit.
func stepCBCFlip(ctx context.Context, e *Env) error {
	e.banner("Live: AES-CBC without a MAC; the relay flips bits of the IV in transit")
	edit, _ := attack.ParseEdit(payEdit)
	conv, err := attackedChat(ctx, e, weak.CBCNoMAC(), &attack.Config{Flips: []attack.Flip{edit}}, payMessage)
	if err != nil {
		return err
	}
	got := ""
	if len(conv.received) > 0 {
		got = conv.received[0]
	}
	e.sideBySide("what alice typed", []string{payMessage}, "what bob received", []string{"alice: " + got})
	if got != payEdited {
		return failed("bob should have received %q, altered without anyone noticing; he got %q", payEdited, got)
	}
	e.alarm(fmt.Sprintf("bob received %q, and nothing warned anyone", got))
	return nil
}

// gcmFlipOutcome is what the members saw when a GCM record was altered.
type gcmFlipOutcome struct {
	aliceErr  error    // how alice's connection ended
	bobSaw    []string // what bob heard from and about alice, to her departure
	carolSaid string   // what bob read from carol afterwards
}

// tamperUnderGCM runs the edit against the default suite: the server must
// reject alice's record, and bob and carol must carry on.
func tamperUnderGCM(ctx context.Context, e *Env, a *attack.Config) (out gcmFlipOutcome, err error) {
	ev, err := e.eavesdrop(ctx, eavesConfig{quiet: true})
	if err != nil {
		return out, err
	}
	defer func() { err = ev.finish(err) }()
	w, err := e.newWorld(worldConfig{mode: chat.Secure, attack: a, eaves: ev})
	if err != nil {
		return out, err
	}
	defer w.close()
	bob, err := w.dial(ctx, "bob", clientOpts{direct: true})
	if err != nil {
		return out, err
	}
	defer bob.Close()
	if _, err := expect(bob, noticeContaining("you are bob")); err != nil {
		return out, err
	}
	alice, err := w.dial(ctx, "alice", clientOpts{})
	if err != nil {
		return out, err
	}
	defer alice.Close()
	if err := joined(bob, "alice"); err != nil {
		return out, err
	}
	if err := alice.Send(payMessage); err != nil {
		return out, err
	}
	for {
		l, err := expect(bob, aliceOutcome)
		if err != nil {
			return out, err
		}
		out.bobSaw = append(out.bobSaw, l.String())
		if l.Notice {
			break
		}
	}
	_, out.aliceErr = expect(alice, func(chat.Line) bool { return false })
	carol, err := w.dial(ctx, "carol", clientOpts{direct: true})
	if err != nil {
		return out, err
	}
	defer carol.Close()
	if err := joined(bob, "carol"); err != nil {
		return out, err
	}
	if err := carol.Send("still here"); err != nil {
		return out, err
	}
	cl, err := expect(bob, from("carol"))
	if err != nil {
		return out, err
	}
	out.carolSaid = cl.Text
	return out, nil
}

// stepGCMFlip: GCM rejects the altered record.
func stepGCMFlip(ctx context.Context, e *Env) error {
	e.banner("Live: the same flip against AES-128-GCM")
	edit, _ := attack.ParseEdit(payEdit)
	out, err := tamperUnderGCM(ctx, e, &attack.Config{Flips: []attack.Flip{edit}})
	if err != nil {
		return err
	}
	e.sideBySide("what alice typed", []string{payMessage}, "what bob received", out.bobSaw)
	if err := out.check(nil); err != nil {
		return err
	}
	e.claim("the server's GCM check rejected the altered record and dropped that connection; the rest of the room carried on")
	return nil
}

// aliceOutcome matches what bob hears next about alice: a message from
// her, or her departure.
func aliceOutcome(l chat.Line) bool {
	return !l.Notice || strings.HasPrefix(l.Text, "alice was disconnected") || l.Text == "alice left"
}

// rejectedNotice is what the room hears when the server rejects a record.
const rejectedNotice = "* alice was disconnected: bad record"

// check verifies the outcome: bob heard delivered, then alice's rejection;
// alice was cut off; the room carried on.
func (o gcmFlipOutcome) check(delivered []string) error {
	want := append(append([]string(nil), delivered...), rejectedNotice)
	if fmt.Sprint(o.bobSaw) != fmt.Sprint(want) {
		return failed("bob should have heard %q, then the server rejecting alice's record; he heard %q", delivered, o.bobSaw)
	}
	if o.aliceErr == nil || !isClosed(o.aliceErr) {
		return failed("alice's connection should have been closed, it ended with %v", o.aliceErr)
	}
	if o.carolSaid != "still here" {
		return failed("the room should carry on after the rejection; bob read %q from carol", o.carolSaid)
	}
	return nil
}
