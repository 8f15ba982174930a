package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"chatlab/protocol"
	"chatlab/protocol/chat"
	"chatlab/protocol/chat/bench"
)

const benchUsage = `Usage:
  chat bench [--mode plain|secure|both] [--server chatlab|reference|both]
             [--clients N] [--seconds S | --messages M] [--size BYTES]
             [--handshakes N] [--idle N] [--rounds R] [--json]

Runs a chat server and its clients in this process, on 127.0.0.1, and
measures, for each mode and server:

  msgs/s, MB/s     messages delivered per second, and their text in MB
                   (10^6 bytes) per second. One client sends for S seconds
                   (or M messages) of BYTES bytes, 16 per write, keeping at
                   most 256 ahead of the slowest receiver; the other N-1
                   clients receive them all, so N-1 deliveries count for
                   each message sent.
  p50, p99 ms      delivery latency under that load: each message carries
                   its send time, and the receiver takes the difference.
  join p50 ms      the median time from connect to the server's greeting,
                   over --handshakes joins one after another: TCP, the
                   RSA-2048 key transport (secure mode) and the name.
  bytes/idle       chatlab's memory per idle client: --idle clients join
                   and keep only their socket; the growth of the process's
                   heap and goroutine stacks in use, after a GC, per client.

The reference server is the same one-room hub written as plainly as Go
allows, over TCP (plain) and over crypto/tls 1.3 with an RSA-2048
certificate (secure). Lean clients drive both: in plain mode the very
same line reader on either server, in secure mode chatlab's record layer
against crypto/tls. They check every message's stamp but neither
sanitise nor parse it, so the figures measure the servers, not chatlab's
client. One message lost, repeated or out of order fails the run.

Each of R rounds measures every mode. In a mode, both servers are set up,
their joins timed, and their rooms filled; then they take equal turns
sending, each at least 100 ms (2.5 ms per receiver in larger rooms),
until each has sent for S seconds, so that both sides of a ratio are
measured over the same stretch of the machine's time. With --messages,
each sends its M messages in one turn. Every figure is the median over the
rounds; ±% is half their range. The lines under the table give
chatlab/reference ratios with the range of the rounds' own, the join
against bare RSA-2048 decryptions timed in turns with the joins, and
secure/plain. Progress is shown on stderr when it is a terminal; results
go to stdout. The open-file limit is raised to fit the clients if it is
too low.

Flags:
  --mode MODE        plain, secure or both (default both)
  --server SERVER    chatlab, reference or both (default both)
  --clients N        members in the room: 1 sender, N-1 receivers (default 2)
  --seconds S        how long each server sends, per mode and round (default 2)
  --messages M       send M messages instead of sending for S seconds
  --size BYTES       message text, 34 to 4000 bytes (default 1024)
  --handshakes N     joins to time (default 200)
  --idle N           idle clients for the memory figure (default 200)
  --rounds R         rounds of every server and mode (default 3)
  --json             one JSON object per server and mode per line

Examples:
  chat bench
  chat bench --mode secure --clients 200
  chat bench --server chatlab --mode plain --idle 1000 --json
  chat bench --rounds 5
`

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), benchUsage) }
	mode := fs.String("mode", "both", "")
	server := fs.String("server", "both", "")
	seconds := fs.Float64("seconds", bench.DefaultDuration.Seconds(), "")
	var cfg bench.Config
	fs.IntVar(&cfg.Clients, "clients", bench.DefaultClients, "")
	fs.IntVar(&cfg.Messages, "messages", 0, "")
	fs.IntVar(&cfg.Size, "size", bench.DefaultSize, "")
	fs.IntVar(&cfg.Handshakes, "handshakes", bench.DefaultHandshakes, "")
	fs.IntVar(&cfg.Idle, "idle", bench.DefaultIdle, "")
	asJSON := fs.Bool("json", false, "")
	rounds := fs.Int("rounds", 3, "")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	var modes []chat.Mode
	switch *mode {
	case "plain":
		modes = []chat.Mode{chat.Plain}
	case "secure":
		modes = []chat.Mode{chat.Secure}
	case "both":
		modes = []chat.Mode{chat.Plain, chat.Secure}
	default:
		return withHint(fmt.Errorf("unknown --mode %q", *mode), "use --mode plain, --mode secure or --mode both")
	}
	var targets []string
	switch *server {
	case "chatlab":
		targets = []string{bench.TargetChatlab}
	case "reference":
		targets = []string{bench.TargetRef}
	case "both":
		targets = []string{bench.TargetChatlab, bench.TargetRef}
	default:
		return withHint(fmt.Errorf("unknown --server %q", *server), "use --server chatlab, --server reference or --server both")
	}
	if !(*seconds > 0) || *seconds > 3600 {
		return withHint(fmt.Errorf("--seconds %v is out of range", *seconds), "use a number of seconds from 0.1 to 3600")
	}
	cfg.Duration = time.Duration(*seconds * float64(time.Second))
	if err := benchCheck(cfg); err != nil {
		return err
	}
	if *rounds < 1 {
		return withHint(fmt.Errorf("--rounds %d: run at least once", *rounds), `"chat bench -h" explains the flags`)
	}
	if err := raiseFDLimit(uint64(bench.FDsNeeded(cfg))); err != nil {
		return err
	}
	if isTerminal(stderr) {
		cfg.Progress = stderr
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if slices.Contains(modes, chat.Secure) {
		// One key for every secure run, so no run pays for making one.
		key, err := rsa.GenerateKey(rand.Reader, protocol.RSABits)
		if err != nil {
			return err
		}
		cfg.Key = key
	}
	// Each round measures every mode; with both servers, a mode's two
	// runs are one RunPair, so the servers take turns sending.
	type run struct {
		target string
		mode   chat.Mode
	}
	var plan []run
	for _, m := range modes {
		for _, t := range targets {
			plan = append(plan, run{t, m})
		}
	}
	runs := make([][]bench.Result, len(plan))
	fail := func(err error, mode chat.Mode) error {
		if errors.Is(err, context.Canceled) {
			return errors.New("bench: interrupted")
		}
		return withHint(fmt.Errorf("%s mode: %w", mode, err), "try a smaller run, e.g. chat bench --clients 2 --seconds 0.5")
	}
	for round := 0; round < *rounds; round++ {
		for _, m := range modes {
			c := cfg
			c.Mode = m
			var got []bench.Result
			if len(targets) == 2 {
				cr, rr, err := bench.RunPair(ctx, c)
				if err != nil {
					return fail(err, m)
				}
				got = []bench.Result{cr, rr}
			} else {
				c.Target = targets[0]
				if c.Target == bench.TargetRef {
					c.Idle = -1 // the memory figure is chatlab's only
				}
				r, err := bench.Run(ctx, c)
				if err != nil {
					return fail(err, m)
				}
				got = []bench.Result{r}
			}
			for _, r := range got {
				i := slices.Index(plan, run{r.Target, m})
				runs[i] = append(runs[i], r)
			}
		}
	}
	results := make([]bench.Result, len(plan))
	for i := range plan {
		r, err := bench.Median(runs[i])
		if err != nil {
			return err
		}
		results[i] = r
	}
	if *asJSON {
		return bench.WriteJSON(stdout, results...)
	}
	return bench.WriteTable(stdout, results...)
}

// benchCheck turns a flag out of range into an error that says which
// flag and what range.
func benchCheck(cfg bench.Config) error {
	hint := `"chat bench -h" explains the flags`
	switch {
	case cfg.Clients < 2:
		return withHint(fmt.Errorf("--clients %d: a run needs one sender and at least one receiver", cfg.Clients), "use --clients 2 or more")
	case cfg.Messages < 0:
		return withHint(fmt.Errorf("--messages %d: send at least one", cfg.Messages), hint)
	case cfg.Size < bench.MinSize || cfg.Size > protocol.MaxMessage:
		return withHint(fmt.Errorf("--size %d is out of range", cfg.Size), fmt.Sprintf("use --size %d to %d: room for the timestamp, at most one chat message", bench.MinSize, protocol.MaxMessage))
	case cfg.Handshakes < 1:
		return withHint(fmt.Errorf("--handshakes %d: time at least one", cfg.Handshakes), hint)
	case cfg.Idle < 1:
		return withHint(fmt.Errorf("--idle %d: join at least one idle client", cfg.Idle), hint)
	}
	return nil
}

// raiseFDLimit lifts the soft open-file limit to need if it is lower and
// the hard limit allows it.
func raiseFDLimit(need uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil // cannot tell; let the run find out
	}
	if lim.Cur >= need {
		return nil
	}
	if lim.Max < need {
		return withHint(fmt.Errorf("the run needs %d open files and the limit is %d", need, lim.Max),
			"use fewer --clients or --idle, or raise the limit (ulimit -Hn as root)")
	}
	lim.Cur = need
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return withHint(fmt.Errorf("raise the open-file limit to %d: %w", need, err), "raise it in the shell first: ulimit -n "+fmt.Sprint(need))
	}
	return nil
}
