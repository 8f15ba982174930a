package sniff

import (
	"context"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"chatlab/sniff/event"
	"chatlab/sniff/render"
)

// RecoveryNotes reads a capture once, silently, for what the IV reuse
// recovery reads at its end, and returns it by the number of the packet
// that carried each record or frame: the comments a second reading
// attaches (Config.Notes) so that an annotated pcapng holds, on each
// packet, the text an eavesdropper recovers from it without the key.
func RecoveryNotes(ctx context.Context, src gopacket.PacketDataSource, link layers.LinkType, cfg Config) (map[int][]string, error) {
	n := &noteTaker{packets: map[unitKey]int{}, notes: map[int][]string{}}
	cfg.Out, cfg.Sink, cfg.Dump, cfg.Stats = nil, n, nil, false
	_, err := Run(ctx, src, link, cfg)
	return n.notes, err
}

// unitKey names a record or frame: its connection and its number there.
type unitKey struct{ conn, number int }

// noteTaker is the sink of RecoveryNotes.
type noteTaker struct {
	packets map[unitKey]int
	notes   map[int][]string
}

func (n *noteTaker) Emit(e event.Event) {
	switch e := e.(type) {
	case *event.Unit:
		if e.Number > 0 && e.Packet > 0 {
			n.packets[unitKey{e.Conn.ID, e.Number}] = e.Packet
		}
	case *event.Recovery:
		for i := range e.Units {
			u := &e.Units[i]
			if p, ok := n.packets[unitKey{e.Conn.ID, u.Number}]; ok {
				n.notes[p] = append(n.notes[p], render.RecoveredComment(u))
			}
		}
	}
}
