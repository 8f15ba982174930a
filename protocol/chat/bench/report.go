package bench

import (
	"encoding/json"
	"fmt"
	"io"
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

// WriteTable writes the results as a table. With a plain and a secure
// result it adds the secure/plain ratios.
func WriteTable(w io.Writer, results ...Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tclients\tmessages\tsize\tmsgs/s\tMB/s\tp50 ms\tp99 ms\thandshake p50 ms\tidle clients\tbytes/idle client\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f\t%.1f\t%.3f\t%.3f\t%.3f\t%d\t%.0f\t\n",
			r.Mode, r.Clients, r.Messages, r.Size, r.MsgsPerSec, r.MBPerSec,
			r.P50ms, r.P99ms, r.HandshakeP50ms, r.IdleClients, r.BytesPerIdleClient)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(results) > 0 && results[0].Rounds > 1 {
		fmt.Fprintf(w, "each figure is the median of %d rounds, the modes alternating\n", results[0].Rounds)
	}
	var plain, secure *Result
	for i := range results {
		switch results[i].Mode {
		case "plain":
			plain = &results[i]
		case "secure":
			secure = &results[i]
		}
	}
	if plain != nil && secure != nil && plain.MsgsPerSec > 0 {
		_, err := fmt.Fprintf(w, "secure/plain: %.2f× messages per second, %.2f× p50 latency\n",
			secure.MsgsPerSec/plain.MsgsPerSec, secure.P50ms/plain.P50ms)
		return err
	}
	return nil
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
