package attack

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// maxReportWidth is the widest line the relay may print: wider wraps on a
// projector.
const maxReportWidth = 100

// printingWire writes what it is fed to the relay's report, to check
// what comes before what.
type printingWire struct{ out *lockedBuffer }

func (w printingWire) Data(_, _ netip.AddrPort, fromClient bool, b []byte) {
	if fromClient {
		fmt.Fprintf(w.out, "WIRE %q\n", b)
	}
}

// plainSession sends lines to a plain chat server through a relay with
// cfg, one unit at a time, and returns the relay's report once the
// connection has ended.
func plainSession(t *testing.T, cfg Config, lines ...string) string {
	t.Helper()
	cfg.Upstream, cfg.Mode = chatServer(t, chat.Plain, nil), chat.Plain
	addr, out, closed := relayTo(t, cfg)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(lines, ""))); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	wait(t, closed, "the connection's end")
	report := out.String()
	for _, l := range strings.Split(report, "\n") {
		if n := utf8.RuneCountInString(l); n > maxReportWidth {
			t.Errorf("a %d-column line: %s", n, l)
		}
	}
	return report
}

// TestReportNumbersRecordsAsTheFlagsDo: each client record is announced
// with the number --flip, --edit and --replay take, before the Wire
// dissects it.
func TestReportNumbersRecordsAsTheFlagsDo(t *testing.T) {
	out := newLockedBuffer()
	got := plainSession(t, Config{NumberRecords: true, Wire: printingWire{out}, Out: out}, "bob\n", "pay 100 to x\n")
	for i, line := range []string{"bob\n", "pay 100 to x\n"} {
		label := fmt.Sprintf("client record %d follows (use %d in --flip, --edit, --replay)", i+1, i+1)
		wire := fmt.Sprintf("WIRE %q", line)
		li, wi := strings.Index(got, label), strings.Index(got, wire)
		if li < 0 || wi < 0 || li > wi {
			t.Errorf("want %q before %q in\n%s", label, wire, got)
		}
	}
}

func TestReportEditThatDoesNotMatch(t *testing.T) {
	edit, err := ParseEdit("2:pay 100=pay 900")
	if err != nil {
		t.Fatal(err)
	}
	report := plainSession(t, Config{Flips: []Flip{edit}}, "bob\n", "pay 200 to x\n")
	if want := `--edit 2:pay 100=pay 900: client record 2 starts "pay 200", not "pay 100"`; !strings.Contains(report, want) {
		t.Errorf("want %q in\n%s", want, report)
	}
	report = plainSession(t, Config{Flips: []Flip{edit}}, "bob\n", "pay 100 to x\n")
	if strings.Contains(report, "--edit 2:") {
		t.Errorf("a matching edit was warned about:\n%s", report)
	}
}

func TestReportEditPastTheEndNamesEdit(t *testing.T) {
	edit, err := ParseEdit("2:pay 100=pay 900")
	if err != nil {
		t.Fatal(err)
	}
	edit.Offset = 100
	report := plainSession(t, Config{Flips: []Flip{edit}}, "bob\n", "pay 100 to x\n")
	if want := "--edit 2:pay 100=pay 900: client record 2 is only 13 bytes"; !strings.Contains(report, want) {
		t.Errorf("want %q in\n%s", want, report)
	}
}

func TestReportReplayThatDidNotHappen(t *testing.T) {
	report := plainSession(t, Config{Replays: []Replay{{Record: 2, After: 3}}}, "bob\n", "hi\n")
	if want := "--replay 2@3 did not happen: the client sent 2 records"; !strings.Contains(report, want) {
		t.Errorf("want %q in\n%s", want, report)
	}
}

// TestReportFitsAProjector: a CBC flip's report, the widest the relay
// prints, stays within maxReportWidth columns.
func TestReportFitsAProjector(t *testing.T) {
	f, err := ParseFlip("2:0:0000000000000000000000000000000000")
	if err != nil {
		t.Fatal(err)
	}
	cs := &connState{id: 1}
	cs.setSuite(protocol.SuiteCBCNoMAC)
	out := newLockedBuffer()
	r := &Relay{cfg: Config{Mode: chat.Secure, Flips: []Flip{f}}, out: newPrinter(out, false)}
	d := &direction{r: r, cs: cs, fromClient: true}
	d.flip(2, make([]byte, 48))
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if n := utf8.RuneCountInString(l); n > maxReportWidth {
			t.Errorf("a %d-column line: %s", n, l)
		}
	}
}
