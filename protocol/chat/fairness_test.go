package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"chatlab/protocol"
)

// quietDeadline bounds how long a member in these tests may hear nothing:
// a hang, not a slow machine. A room of hundreds under the race detector,
// beside other packages' tests, can leave one reader unscheduled for long
// stretches while the rest make progress.
const quietDeadline = 2 * time.Minute

// readUntil reads raw lines from conn until one equals want, resetting
// the deadline whenever a line comes, so a slow machine is not a failure.
func readUntil(conn protocol.MessageConn, want string) error {
	for {
		conn.NetConn().SetReadDeadline(time.Now().Add(quietDeadline))
		s, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		if s == want {
			return nil
		}
	}
}

// TestFloodingMemberSlowed is the second attack: a member sends 3000
// lines of 3.9 KB as fast as TCP allows, while alice and bob read at full
// speed. Both get every line, in order, and nobody is dropped: the
// server reads the flood only as fast as the room takes it.
func TestFloodingMemberSlowed(t *testing.T) {
	const lines = 3000
	text := strings.Repeat("f", 3900)
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			srv, addr, alice, bob := hardPair(t, Config{Mode: mode})
			flooder, _ := rawJoin(t, mode, addr, "flood")
			e2eExpect(t, alice, "* flood joined")
			e2eExpect(t, bob, "* flood joined")
			go func() {
				batch := make([]string, 100)
				for i := 0; i < lines; i += len(batch) {
					for k := range batch {
						batch[k] = fmt.Sprintf("%05d %s", i+k, text)
					}
					if flooder.WriteMessages(batch...) != nil {
						return
					}
				}
			}()
			var wg sync.WaitGroup
			errs := make(chan error, 2)
			for _, c := range []*Client{alice, bob} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := 0; n < lines; {
						c.NetConn().SetReadDeadline(time.Now().Add(e2eDeadline))
						l, err := c.Receive()
						if err != nil {
							errs <- fmt.Errorf("after %d of %d lines: %w", n, lines, err)
							return
						}
						if l.Notice {
							errs <- fmt.Errorf("after %d lines: notice %q", n, l.Text)
							return
						}
						if want := fmt.Sprintf("%05d ", n); l.From != "flood" || !strings.HasPrefix(l.Text, want) {
							errs <- fmt.Errorf("got %s: %.10q, want line %d", l.From, l.Text, n)
							return
						}
						n++
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			stillTalking(t, srv, alice, bob, "alice", "bob", "flood")
		})
	}
}

// TestSlowMemberToldWhy drops a member that stops reading, then lets it
// read: in the client and on netcat, what it gets ends with whole lines
// and then the notice that says why, before the close.
func TestSlowMemberToldWhy(t *testing.T) {
	const want = "* error: you were disconnected: too slow to keep up"
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			srv, addr, alice, bob := hardPair(t, Config{Mode: mode, WriteTimeout: 500 * time.Millisecond})
			slow, _ := rawJoin(t, mode, addr, "slow")
			e2eExpect(t, alice, "* slow joined")
			msg := strings.Repeat("s", protocol.MaxMessage)
			done := make(chan struct{})
			go func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					if alice.Send(msg) != nil {
						return
					}
				}
			}()
			e2eExpect(t, bob, "* slow was disconnected: too slow to keep up")
			close(done)
			var last string
			for {
				slow.NetConn().SetReadDeadline(time.Now().Add(e2eDeadline))
				s, err := slow.ReadMessage()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("slow, after %.30q: %v", last, err)
				}
				if s != want && s != "alice: "+msg && !strings.HasPrefix(s, "* ") {
					t.Fatalf("slow got a broken line %.40q (%d bytes)", s, len(s))
				}
				last = s
			}
			if last != want {
				t.Fatalf("slow's last line is %.60q, want %q", last, want)
			}
			stillTalking(t, srv, alice, bob, "alice", "bob")
		})
	}
}

// TestBurstLeavesNoMemory is the third attack: 200 lines of 3990 bytes to
// 1000 members who read them all. Afterwards, with every member still
// joined, the heap after a GC is at most maxBurstResidue per member above
// where it was before the burst: every buffer the burst grew is back to
// its idle size. (Before this bound, about 280 KB per member stayed.)
// Under the race detector the room is 100 members, so the run stays short.
func TestBurstLeavesNoMemory(t *testing.T) {
	members := 1000
	if raceEnabled {
		members = 100
	}
	const (
		lines = 200
		// maxBurstResidue allows for what the test's own clients keep:
		// a secure client's plaintext buffer grows to the line it read.
		maxBurstResidue = 8 << 10
	)
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			srv, addr := e2eServer(t, Config{Mode: mode})
			conns := make([]protocol.MessageConn, members)
			for i := range conns {
				conns[i], _ = rawJoin(t, mode, addr, fmt.Sprintf("m%04d", i))
			}
			// rawJoin does not wait for the greeting: the members must
			// all be in the room before the sender is, or one whose
			// name the server reads late hears of no sender joining.
			e2eWaitMembers(t, srv, members)
			sender, _ := rawJoin(t, mode, addr, "sender")
			e2eWaitMembers(t, srv, members+1)
			for i, c := range conns {
				if err := readUntil(c, "* sender joined"); err != nil {
					t.Fatalf("m%04d: %v", i, err)
				}
			}
			before := heapInUse()

			text := strings.Repeat("b", 3990)
			go func() {
				for i := range lines {
					if sender.WriteMessages(fmt.Sprintf("%03d%s", i, text[3:])) != nil {
						return
					}
				}
			}()
			var wg sync.WaitGroup
			errs := make(chan error, members)
			for i, c := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := readUntil(c, fmt.Sprintf("sender: %03d%s", lines-1, text[3:])); err != nil {
						errs <- fmt.Errorf("m%04d: %w", i, err)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			e2eWaitMembers(t, srv, members+1)
			after := heapInUse()
			per := (int64(after) - int64(before)) / int64(members)
			t.Logf("%s: %d bytes per member left after the burst", mode, per)
			if per > maxBurstResidue {
				t.Fatalf("%d bytes per member stay after the burst, more than %d", per, maxBurstResidue)
			}
		})
	}
}

// heapInUse is the heap and goroutine stacks in use after the garbage
// collector has run twice (the second run empties sync.Pool's victims).
func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// TestUnconfirmedSessionFails is the fourth attack: a server that sends a
// hello with a key it does not hold, reads the key exchange and closes, as
// the real server does when the key does not unwrap. The client must not
// report success; likewise for a first record that does not open.
func TestUnconfirmedSessionFails(t *testing.T) {
	key := e2eKey(t, "server-key.pem")
	for name, after := range map[string]func(net.Conn){
		"closes":       func(net.Conn) {},
		"bad record":   func(c net.Conn) { c.Write(protocol.AppendRecord(nil, protocol.TypeData, make([]byte, 40))) },
		"stays silent": func(c net.Conn) { time.Sleep(200 * time.Millisecond) },
	} {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				body, _ := protocol.MarshalHello(&key.PublicKey, protocol.SuiteAES128GCM)
				c.Write(protocol.AppendRecord(nil, protocol.TypeHello, body))
				io.ReadFull(c, make([]byte, protocol.RecordHeaderLen+protocol.WrappedKeySize))
				after(c)
			}()
			_, err = Dial(context.Background(), ClientConfig{Mode: Secure, Addr: ln.Addr().String(), Name: "alice", Timeout: time.Second})
			if !errors.Is(err, ErrNotConfirmed) {
				t.Fatalf("Dial = %v, want %v", err, ErrNotConfirmed)
			}
		})
	}
}

// TestInvisibleCharactersShown is the fifth attack: each invisible or
// direction-changing character, sent in a message, reaches the other
// members in the visible form, whatever their client does with it.
func TestInvisibleCharactersShown(t *testing.T) {
	invisibles := []rune{0x200e, 0x200f, 0x061c, 0x2028, 0x2029, 0x200b, 0xfeff, 0xe0000, 0xe0041, 0xe007f, 0x202e, 0x2066}
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			_, addr := e2eServer(t, Config{Mode: mode})
			alice := e2eClient(t, mode, addr, "alice")
			bob, _ := rawJoin(t, mode, addr, "bob")
			e2eExpect(t, alice, "* bob joined")
			for _, r := range invisibles {
				alice.Send("a" + string(r) + "b")
				want := fmt.Sprintf("alice: a<U+%04X>b", r)
				if err := readUntil(bob, want); err != nil {
					t.Fatalf("U+%04X: %v", r, err)
				}
			}
		})
	}
}

// TestServerLogSaysWhatHappened checks two log lines: a plain client at a
// secure server is logged as one, and a /nick change is logged.
func TestServerLogSaysWhatHappened(t *testing.T) {
	var log syncLog
	_, addr := e2eServer(t, Config{Mode: Secure, Log: log.logger()})
	if _, err := Dial(context.Background(), ClientConfig{Mode: Plain, Addr: addr, Name: "alice"}); !errors.Is(err, ErrServerIsSecure) {
		t.Fatalf("plain client at a secure server: %v", err)
	}
	bob := e2eClient(t, Secure, addr, "bob")
	bob.Send("/nick robert")
	e2eExpect(t, bob, "* bob is now known as robert")
	bob.Send("/quit")
	e2eExpect(t, bob, "* bye")
	waitFor(t, "the log lines", func() string {
		got := log.String()
		for _, want := range []string{"a plain-mode client at this secure server", "bob is now known as robert"} {
			if !strings.Contains(got, want) {
				return fmt.Sprintf("no %q in:\n%s", want, got)
			}
		}
		if strings.Contains(got, "refuses the server's key") {
			return "the plain client is logged as one that refused the key:\n" + got
		}
		return ""
	})
}

// TestLinesSentTogetherKeepTheirOrder: lines that arrive in one write are
// passed to the room in groups; a command among them acts after the lines
// before it and before the lines after it, a refused line is refused
// without holding up the rest, and the last line of a write is delivered
// without waiting for another.
func TestLinesSentTogetherKeepTheirOrder(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			srv, addr := e2eServer(t, Config{Mode: mode})
			bob, _ := rawJoin(t, mode, addr, "bob")
			e2eWaitMembers(t, srv, 1)
			sender, _ := rawJoin(t, mode, addr, "sender")
			e2eWaitMembers(t, srv, 2)
			// A refused line first, then short lines that all come in
			// one read, with a command among them.
			out := []string{strings.Repeat("x", protocol.MaxMessage+1)}
			var want []string
			name := "sender"
			for i := range 3*groupLines + 5 {
				out = append(out, fmt.Sprintf("line %d", i))
				want = append(want, fmt.Sprintf("%s: line %d", name, i))
				if i == groupLines+7 {
					out = append(out, "/nick renamed")
					want = append(want, "* sender is now known as renamed")
					name = "renamed"
				}
			}
			if err := sender.WriteMessages(out...); err != nil {
				t.Fatal(err)
			}
			if err := readUntil(bob, "* sender joined"); err != nil {
				t.Fatal(err)
			}
			for i, w := range want {
				bob.NetConn().SetReadDeadline(time.Now().Add(quietDeadline))
				got, err := bob.ReadMessage()
				if err != nil || got != w {
					t.Fatalf("line %d: %q, %v; want %q", i, got, err, w)
				}
			}
		})
	}
}

// TestGroupNeverDropsAReader: lines that come in one write go to the room
// together, but no further than each member's wait mark at a time, so a
// member who reads is never dropped for them, even when the whole write
// is more than its queue may hold.
func TestGroupNeverDropsAReader(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			srv, addr := e2eServer(t, Config{Mode: mode, QueueLimit: 8})
			bob := e2eClient(t, mode, addr, "bob")
			alice := e2eClient(t, mode, addr, "alice")
			e2eExpect(t, bob, "* alice joined")
			e2eWaitMembers(t, srv, 2)
			var lines []string
			for i := range 3 * groupLines {
				lines = append(lines, fmt.Sprintf("line %d", i))
			}
			if err := alice.SendBatch(lines...); err != nil {
				t.Fatal(err)
			}
			for _, l := range lines {
				bob.NetConn().SetReadDeadline(time.Now().Add(quietDeadline))
				got, err := bob.Receive()
				if err != nil || got.String() != "alice: "+l {
					t.Fatalf("bob got %q, %v; want %q", got.String(), err, "alice: "+l)
				}
			}
			stillTalking(t, srv, alice, bob, "alice", "bob")
		})
	}
}

// TestGreetingComesFirst: a member's first line is its greeting, even when
// it joins a room that another member keeps busy. The lines the room sent
// it while it joined follow the greeting.
func TestGreetingComesFirst(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			srv, addr := e2eServer(t, Config{Mode: mode})
			talker, _ := rawJoin(t, mode, addr, "talker")
			e2eWaitMembers(t, srv, 1)
			stop := make(chan struct{})
			flooded := make(chan error, 1)
			go func() {
				batch := make([]string, 8)
				for i := 0; ; i++ {
					select {
					case <-stop:
						flooded <- nil
						return
					default:
					}
					for j := range batch {
						batch[j] = fmt.Sprintf("line %d", i*len(batch)+j)
					}
					if err := talker.WriteMessages(batch...); err != nil {
						flooded <- err
						return
					}
				}
			}()
			for i := range 100 {
				name := fmt.Sprintf("newcomer%d", i)
				conn, nc, err := joinRaw(mode, addr, name)
				if err != nil {
					t.Fatal(err)
				}
				first, err := conn.ReadMessage()
				if err != nil || !strings.HasPrefix(first, "* you are "+name+";") {
					t.Fatalf("%s's first line: %q, %v; want its greeting", name, first, err)
				}
				// The room was busy while it joined: the talker's lines
				// come after the greeting.
				for line := ""; !strings.HasPrefix(line, "talker: line "); {
					conn.NetConn().SetReadDeadline(time.Now().Add(quietDeadline))
					if line, err = conn.ReadMessage(); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
				}
				nc.Close()
			}
			close(stop)
			if err := <-flooded; err != nil {
				t.Fatalf("talker: %v", err)
			}
		})
	}
}

// stallListener hands out, as its n-th connection, one whose second write
// (the greeting, after the hello or the banner) waits for release and
// then fails, as a write to a peer that stopped reading times out.
type stallListener struct {
	net.Listener
	n, accepts int
	stalled    chan struct{} // closed when that write is waiting
	release    chan struct{}
}

func (l *stallListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		if l.accepts++; l.accepts == l.n {
			c = &stallConn{Conn: c, l: l}
		}
	}
	return c, err
}

type stallConn struct {
	net.Conn
	l      *stallListener
	writes int
}

func (c *stallConn) Write(p []byte) (int, error) {
	if c.writes++; c.writes == 2 {
		close(c.l.stalled)
		<-c.l.release
		return 0, errors.New("the peer stopped reading")
	}
	return c.Conn.Write(p)
}

// TestFailedGreetingFreesTheRoom: a member whose greeting cannot be
// written leaves the room without holding anyone up. A sender that was
// waiting for it to take its lines goes on.
func TestFailedGreetingFreesTheRoom(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			l := &stallListener{n: 2, stalled: make(chan struct{}), release: make(chan struct{})}
			// With a queue limit of 2 the wait mark is one line.
			srv, addr, stop := e2eStart(t, Config{Mode: mode, QueueLimit: 2}, func(ln net.Listener) net.Listener {
				l.Listener = ln
				return l
			})
			defer stop()
			talker, _ := rawJoin(t, mode, addr, "talker")
			e2eWaitMembers(t, srv, 1)
			rawJoin(t, mode, addr, "newcomer")
			<-l.stalled // the newcomer is in the room; its greeting is stuck
			if err := talker.WriteMessages("hello"); err != nil {
				t.Fatal(err)
			}
			// The talker's line is queued for the newcomer, which puts it
			// at its wait mark: the talker's reader waits for it.
			queued := func() int {
				srv.room.mu.Lock()
				m := srv.room.members["newcomer"]
				srv.room.mu.Unlock()
				m.mu.Lock()
				defer m.mu.Unlock()
				return len(m.queue)
			}
			for queued() == 0 {
				time.Sleep(time.Millisecond)
			}
			close(l.release)
			if err := talker.WriteMessages("/who"); err != nil {
				t.Fatal(err)
			}
			for line := ""; !strings.HasPrefix(line, "* 1 in the room: talker"); {
				talker.NetConn().SetReadDeadline(time.Now().Add(e2eDeadline))
				var err error
				if line, err = talker.ReadMessage(); err != nil {
					t.Fatalf("the talker's /who went unanswered: %v", err)
				}
			}
		})
	}
}
