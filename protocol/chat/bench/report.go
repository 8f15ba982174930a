package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// WriteJSON writes each result as one JSON object on its own line.
func WriteJSON(w io.Writer, results ...Result) error {
	enc := json.NewEncoder(w)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// WriteTable writes the results as a table, then the ratios it can
// work out: chatlab against the reference hub in each mode, chatlab's
// handshake against a bare RSA decryption and a TLS 1.3 handshake, and
// secure against plain.
func WriteTable(w io.Writer, results ...Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\tmode\tclients\tsize\tmsgs/s\t±%\tMB/s\tp50 ms\tp99 ms\tjoin p50 ms\tbytes/idle\t")
	for _, r := range results {
		idle := "-"
		if r.IdleClients > 0 {
			idle = fmt.Sprintf("%.0f", r.BytesPerIdleClient)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0f\t%.1f\t%.1f\t%.3f\t%.3f\t%.3f\t%s\t\n",
			r.Target, modeLabel(r), r.Clients, r.Size, r.MsgsPerSec, r.SpreadPct, r.MBPerSec,
			r.P50ms, r.P99ms, r.HandshakeP50ms, idle)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	find := func(target, mode string) *Result {
		for i := range results {
			if results[i].Target == target && results[i].Mode == mode {
				return &results[i]
			}
		}
		return nil
	}
	var err error
	say := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format+"\n", args...)
		}
	}
	if len(results) > 0 && results[0].Rounds > 1 {
		turns := ""
		if slices.ContainsFunc(results, func(r Result) bool { return r.Target == TargetRef }) &&
			slices.ContainsFunc(results, func(r Result) bool { return r.Target == TargetChatlab }) {
			turns = ", in which the servers take turns"
		}
		say("each figure is the median of %d rounds%s;", results[0].Rounds, turns)
		say("±%% is half the range of msgs/s over the rounds, in per cent of the median")
	}
	for _, mode := range []string{"plain", "secure"} {
		c, r := find(TargetChatlab, mode), find(TargetRef, mode)
		if c != nil && r != nil && r.MsgsPerSec > 0 {
			say("chatlab/reference, %s: %.2f× messages per second%s, %.2f× p50 latency",
				modeLabel(*c), c.MsgsPerSec/r.MsgsPerSec, roundRatios(*c, *r), c.P50ms/r.P50ms)
		}
	}
	if c := find(TargetChatlab, "secure"); c != nil && c.RSADecryptP50ms > 0 {
		line := fmt.Sprintf("join p50, secure: %.2f× a bare RSA-2048 OAEP decryption (%.3f ms)",
			c.HandshakeP50ms/c.RSADecryptP50ms, c.RSADecryptP50ms)
		if r := find(TargetRef, "secure"); r != nil && r.HandshakeP50ms > 0 {
			line += fmt.Sprintf(", %.2f× a TLS 1.3 join", c.HandshakeP50ms/r.HandshakeP50ms)
		}
		say("%s", line)
	}
	plain, secure := find(TargetChatlab, "plain"), find(TargetChatlab, "secure")
	if plain != nil && secure != nil && plain.MsgsPerSec > 0 {
		say("secure/plain (chatlab): %.2f× messages per second, %.2f× p50 latency",
			secure.MsgsPerSec/plain.MsgsPerSec, secure.P50ms/plain.P50ms)
	}
	return err
}

// roundRatios gives the range of the rounds' own chatlab/reference
// ratios, " (rounds 1.04–1.09×)", when there are several paired rounds.
func roundRatios(c, r Result) string {
	if len(c.RoundsMsgsPerSec) < 2 || len(c.RoundsMsgsPerSec) != len(r.RoundsMsgsPerSec) {
		return ""
	}
	var ratios []float64
	for i, v := range c.RoundsMsgsPerSec {
		if r.RoundsMsgsPerSec[i] <= 0 {
			return ""
		}
		ratios = append(ratios, v/r.RoundsMsgsPerSec[i])
	}
	return fmt.Sprintf(" (rounds %.2f–%.2f×)", slices.Min(ratios), slices.Max(ratios))
}

// modeLabel names the mode, and for the reference hub what carries it.
func modeLabel(r Result) string {
	if r.Target != TargetRef {
		return r.Mode
	}
	if r.Mode == "secure" {
		return "TLS 1.3"
	}
	return "TCP"
}

// progressInterval is how often the progress line redraws.
const progressInterval = 100 * time.Millisecond

// progress redraws one status line on a terminal while a run goes on. A
// nil *progress does nothing, so the engine can call it unconditionally.
type progress struct {
	w     io.Writer
	mode  string
	done  atomic.Int64
	total atomic.Int64
	label atomic.Pointer[string]
	quit  chan struct{}
	ended sync.WaitGroup
}

func newProgress(w io.Writer, mode string) *progress {
	if w == nil {
		return nil
	}
	p := &progress{w: w, mode: mode, quit: make(chan struct{})}
	p.label.Store(new(string))
	p.ended.Add(1)
	go p.loop()
	return p
}

func (p *progress) loop() {
	defer p.ended.Done()
	tick := time.NewTicker(progressInterval)
	defer tick.Stop()
	for {
		select {
		case <-p.quit:
			fmt.Fprint(p.w, "\r\033[K")
			return
		case <-tick.C:
			p.draw()
		}
	}
}

func (p *progress) draw() {
	line := p.mode + ": " + *p.label.Load()
	if total := p.total.Load(); total > 0 {
		line += fmt.Sprintf(" %d/%d", p.done.Load(), total)
	}
	fmt.Fprint(p.w, "\r\033[K"+strings.TrimSpace(line))
}

// phase starts a new stage of total steps (0 for one without steps).
func (p *progress) phase(label string, total int) {
	if p == nil {
		return
	}
	p.label.Store(&label)
	p.done.Store(0)
	p.total.Store(int64(total))
}

func (p *progress) add(n int) {
	if p != nil {
		p.done.Add(int64(n))
	}
}

// stop clears the line and ends the redrawing.
func (p *progress) stop() {
	if p == nil {
		return
	}
	close(p.quit)
	p.ended.Wait()
}
