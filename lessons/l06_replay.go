package lessons

import (
	"context"
	"fmt"

	"chatlab/lessons/attack"
	"chatlab/protocol/weak"
)

// stepReplayCBC: without sequence numbers a recorded record works twice.
func stepReplayCBC(ctx context.Context, e *Env) (err error) {
	e.banner("Live: AES-CBC with no MAC and no sequence numbers; the relay sends alice's record again")
	ev, err := e.eavesdrop(ctx, eavesConfig{quiet: true})
	if err != nil {
		return err
	}
	defer func() { err = ev.finish(err) }()
	w, o, err := weakWorld(e, ev, weak.CBCNoMAC(), &attack.Config{Replays: []attack.Replay{{Record: 2, After: 2}}})
	if err != nil {
		return err
	}
	defer w.close()
	// bob goes straight to the server: the replay is of alice's record.
	bo := o
	bo.direct = true
	bob, err := w.dial(ctx, "bob", bo)
	if err != nil {
		return err
	}
	defer bob.Close()
	if _, err := expect(bob, noticeContaining("you are bob")); err != nil {
		return err
	}
	alice, err := w.dial(ctx, "alice", o)
	if err != nil {
		return err
	}
	defer alice.Close()
	if err := joined(bob, "alice"); err != nil {
		return err
	}
	got, err := say(alice, bob, payMessage)
	if err != nil {
		return err
	}
	again, err := expect(bob, aliceOutcome)
	if err != nil {
		return failed("bob should have received the replayed record: %v", err)
	}
	// Every row as bob's screen shows it, sender first, as in the GCM run.
	seen := []string{"alice: " + got[0], again.String()}
	e.sideBySide("what alice typed", []string{payMessage, "(nothing)"}, "what bob received", seen)
	if again.Notice || again.Text != payMessage {
		return failed("the replayed record should have been accepted as a second %q; bob got %q", payMessage, again)
	}
	e.alarm(fmt.Sprintf("alice typed %q once; bob received it twice", payMessage))
	return nil
}

// stepReplayGCM: sequence numbers make the copy fail.
func stepReplayGCM(ctx context.Context, e *Env) error {
	e.banner("Live: the same replay against AES-128-GCM with sequence numbers")
	out, err := tamperUnderGCM(ctx, e, &attack.Config{Replays: []attack.Replay{{Record: 2, After: 2}}})
	if err != nil {
		return err
	}
	e.sideBySide("what alice typed", []string{payMessage, "(nothing)"}, "what bob received", out.bobSaw)
	if err := out.check([]string{"alice: " + payMessage}); err != nil {
		return err
	}
	e.claim("the copy carried an old sequence number: the server rejected it, and bob got the payment once")
	return nil
}
