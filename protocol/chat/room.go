package chat

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"chatlab/protocol"
)

// room is the one shared room. Every broadcast happens under its lock, so
// all members see all messages in one order, and each sender's messages in
// the order they were sent.
type room struct {
	mu      sync.Mutex
	members map[string]*member
	closed  bool
}

func newRoom() *room { return &room{members: make(map[string]*member)} }

// join adds m under name, or under name plus the first free number if the
// name is taken. It returns the name given, or "" if the room is closed.
func (r *room) join(name string, m *member) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ""
	}
	given := r.freeName(name)
	r.members[given] = m
	r.broadcastLocked(m, notice(given+" joined"))
	return given
}

func (r *room) freeName(name string) string {
	if _, taken := r.members[name]; !taken {
		return name
	}
	for i := 2; ; i++ {
		suffix := strconv.Itoa(i)
		base := name
		if len(base)+len(suffix) > protocol.MaxName {
			base = base[:protocol.MaxName-len(suffix)]
		}
		if _, taken := r.members[base+suffix]; !taken {
			return base + suffix
		}
	}
}

// leave removes the member called name, if it is still m, and tells the
// others why.
func (r *room) leave(name string, m *member, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.members[name] != m {
		return
	}
	delete(r.members, name)
	if !r.closed {
		r.broadcastLocked(nil, notice(name+" "+why))
	}
}

// rename moves m from old to new; it fails if new is taken.
func (r *room) rename(old, new string, m *member) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, taken := r.members[new]; taken || r.members[old] != m {
		return false
	}
	delete(r.members, old)
	r.members[new] = m
	r.broadcastLocked(nil, notice(old+" is now known as "+new))
	return true
}

// broadcast sends lines to every member but except, as many as every
// member can take before its wait mark (and at least one), and returns
// how many it sent. With them it returns a member past its wait mark, if
// there is one: the sender waits for it before it sends the rest, so a
// member who sends faster than the room can take is slowed down, those
// who read are not dropped for it, and one sender takes a member at most
// one line past its mark, as if every line were sent alone.
func (r *room) broadcast(except *member, lines ...string) (sent int, lagging *member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(lines) > 1 {
		for _, m := range r.members {
			if m != except {
				lines = lines[:m.headroom(lines)]
			}
		}
	}
	return len(lines), r.broadcastLocked(except, lines...)
}

// broadcastLocked queues lines for every member but except, and returns
// one that is past its wait mark, if any. A member past its drop limit is
// marked too slow by send, and leaves through its own reader.
func (r *room) broadcastLocked(except *member, lines ...string) (lagging *member) {
	for _, m := range r.members {
		if m != except && m.send(lines...) && lagging == nil {
			lagging = m
		}
	}
	return lagging
}

// names lists the members, sorted.
func (r *room) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.members))
	for name := range r.members {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// close ends the room: every member gets last, then is finished.
func (r *room) close(last string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for _, m := range r.members {
		m.finish(last)
	}
}

// maxNameList bounds the list of names in a notice (the greeting, /who),
// leaving room in protocol.MaxLine for the words around it. A longer list
// ends with "and N more" instead of making a line nobody can receive.
const maxNameList = protocol.MaxLine - 256

// joinNames lists names, cut to maxNameList bytes.
func joinNames(names []string) string {
	var b strings.Builder
	for i, name := range names {
		if b.Len()+len(", ")+len(name)+len(", and 1000000 more") > maxNameList {
			fmt.Fprintf(&b, ", and %d more", len(names)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(name)
	}
	return b.String()
}
