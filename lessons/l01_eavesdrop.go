package lessons

import (
	"bytes"
	"context"

	"chatlab/protocol/chat"
)

// demoMessages returns what alice types in lessons 1 and 2.
func demoMessages() []string {
	return []string{
		"hi bob, it's alice",
		"my password is hunter2",
		"meet me at 6pm by the library",
	}
}

// watchedChat runs one alice-and-bob chat in mode under an eavesdropper
// and prints the side-by-side view.
func watchedChat(ctx context.Context, e *Env, mode chat.Mode, msgs []string) (*recording, error) {
	ev, err := e.eavesdrop(ctx, eavesConfig{})
	if err != nil {
		return nil, err
	}
	w, err := e.newWorld(worldConfig{mode: mode, eaves: ev})
	if err != nil {
		return nil, ev.finish(err)
	}
	conv, err := w.converse(ctx, msgs, clientOpts{})
	w.close()
	if err := ev.finish(err); err != nil {
		return nil, err
	}
	views, _ := seenMessages(ev.rec, conv.alice, mode == chat.Plain)
	e.sideBySide("what alice typed", msgs, "what an eavesdropper sees on the wire", views)
	return ev.rec, nil
}

// stepPlainChat: a plain chat, and the eavesdropper reads every word.
func stepPlainChat(ctx context.Context, e *Env) error {
	e.banner("Live: alice and bob chat in plain mode; an eavesdropper watches the wire")
	msgs := demoMessages()
	rec, err := watchedChat(ctx, e, chat.Plain, msgs)
	if err != nil {
		return err
	}
	wire := rec.all()
	for _, m := range msgs {
		if !bytes.Contains(wire, []byte(m)) {
			return failed("the eavesdropper should have read %q on the wire", m)
		}
	}
	e.alarm("the eavesdropper read every word alice typed, password included")
	return nil
}
