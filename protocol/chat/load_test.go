package chat

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"chatlab/protocol"
)

// The load test's size is the one the chat is held to: 50 members each
// sending 200 messages at once, all delivered.
const (
	loadMembers  = 50
	loadMessages = 200
	// loadStall bounds the wait for the next message, not the whole
	// exchange: a loaded machine may take minutes, and that is no failure
	// as long as messages keep coming.
	loadStall = 60 * time.Second
)

// TestLoad has every member send all its messages while every member
// reads. Every member must receive every other member's messages (its
// own are not echoed), each sender's in the order sent, with nothing
// lost, repeated or cut off.
func TestLoad(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			srv, addr := e2eServer(t, Config{Mode: mode})
			members := make([]*Client, loadMembers)
			for i := range members {
				members[i] = e2eClient(t, mode, addr, fmt.Sprintf("m%d", i))
			}
			e2eWaitMembers(t, srv, loadMembers)

			errs := make(chan error, 2*loadMembers)
			for i, c := range members {
				go func() { errs <- loadReceive(c, i) }()
				go func() { errs <- loadSend(c, i) }()
			}
			for range 2 * loadMembers {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			e2eWaitMembers(t, srv, loadMembers)
		})
	}
}

// loadSend sends member i's messages, one write each, as people type.
func loadSend(c *Client, i int) error {
	for n := range loadMessages {
		if err := c.Send(fmt.Sprintf("%d %d", i, n)); err != nil {
			return fmt.Errorf("m%d sending message %d: %w", i, n, err)
		}
	}
	return nil
}

// loadReceive reads until member i has every other member's messages,
// checking each sender's order as they come.
func loadReceive(c *Client, i int) error {
	next := make([]int, loadMembers) // per sender, the message due next
	next[i] = loadMessages           // nothing comes from i itself
	want := (loadMembers - 1) * loadMessages
	for got := 0; got < want; {
		c.NetConn().SetReadDeadline(time.Now().Add(loadStall))
		l, err := c.Receive()
		if err != nil {
			return fmt.Errorf("m%d after %d of %d messages: %w", i, got, want, err)
		}
		if l.Notice {
			if strings.Contains(l.Text, "disconnected") {
				return fmt.Errorf("m%d: %s", i, l.Text)
			}
			continue
		}
		from, n, ok := parseLoad(l)
		if !ok || from == i {
			return fmt.Errorf("m%d got a stray line %q", i, l.String())
		}
		if n != next[from] {
			return fmt.Errorf("m%d got m%d's message %d when %d was due", i, from, n, next[from])
		}
		next[from]++
		got++
	}
	return nil
}

// parseLoad reads "mS: S N" back into sender S and message N.
func parseLoad(l Line) (from, n int, ok bool) {
	s, rest, ok := strings.Cut(l.Text, " ")
	if !ok || "m"+s != l.From {
		return 0, 0, false
	}
	from, err1 := strconv.Atoi(s)
	n, err2 := strconv.Atoi(rest)
	return from, n, err1 == nil && err2 == nil && from >= 0 && from < loadMembers
}

// heldMembers is the number of members the server must hold at once.
const heldMembers = 1000

// TestHold1000Members joins a thousand members with long names and keeps
// them, then has one more join and speak: every one of the thousand hears
// it. The newest members' greeting lists more names than fit in one line,
// so this also checks that the list is cut to fit.
func TestHold1000Members(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			srv, addr := e2eServer(t, Config{Mode: mode})
			conns := make([]protocol.MessageConn, heldMembers)
			for i := range conns {
				conns[i], _ = rawJoin(t, mode, addr, fmt.Sprintf("a-rather-long-name-%04d", i))
			}
			e2eWaitMembers(t, srv, heldMembers)
			last := e2eClient(t, mode, addr, "last")
			last.Send("hello, all")
			for i, c := range conns {
				c.NetConn().SetReadDeadline(time.Now().Add(e2eDeadline))
				for {
					s, err := c.ReadMessage()
					if err != nil {
						t.Fatalf("member %d: %v", i, err)
					}
					if s == "last: hello, all" {
						break
					}
				}
			}
			e2eWaitMembers(t, srv, heldMembers+1)
		})
	}
}
