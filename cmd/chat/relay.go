package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"chatlab/cmd/internal/cli"
	"chatlab/lessons/attack"
	"chatlab/protocol"
	"chatlab/protocol/weak"
	"chatlab/sniff"
)

const relayUsage = `Usage:
  chat relay [--plain|--secure] [--listen ADDR] [--upstream ADDR]
             [--flip RECORD:OFFSET:XORHEX] [--edit RECORD:OLD=NEW]
             [--replay N[@M]] [--swap-key [--key FILE]] [--weak NAME]

An attacker between the clients and the server. Point clients at --listen;
the relay passes everything to --upstream and prints what it sees and what
it changes. Records are counted per connection from 1, over the client's
data records (or lines in plain mode): record 1 is the name, 2 the first
message. The relay says "client record N" before each; the dissection's own
record numbers count every record both ways. Only the client-to-server
direction is altered. The attack applies to every connection: connect the
members who are not its target straight to the server.

  --flip 2:12:08          XOR the byte 08 into record 2 at body offset 12
  --edit "2:pay 100=pay 900"
                          the text of record 2 starts with "pay 100": flip the
                          bits that turn it into "pay 900" (in CBC, the IV)
  --replay 2              send record 2 to the server again right after it
  --replay 2@3            ... or after record 3
  --swap-key              man in the middle: give the client the relay's own
                          key, decrypt and print everything, re-encrypt

Examples:
  chat relay --plain
  chat relay --swap-key
  chat relay --edit "2:pay 100=pay 900"
  chat relay --replay 2

Flags:
`

// multiFlag collects a flag given several times.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func runRelay(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), relayUsage)
		cli.PrintFlags(fs.Output(), fs)
	}
	var mf modeFlags
	mf.register(fs)
	listen := fs.String("listen", "127.0.0.1:9001", "address the clients connect to")
	upstream := fs.String("upstream", "127.0.0.1:9000", "the real server's address")
	var flips, edits, replays multiFlag
	fs.Var(&flips, "flip", "XOR hex bytes into a client record: RECORD:OFFSET:XORHEX (repeatable)")
	fs.Var(&edits, "edit", "change known text in a client record: RECORD:OLD=NEW (repeatable)")
	fs.Var(&replays, "replay", "send client record N again, right away or after record M: N[@M] (repeatable)")
	swap := fs.Bool("swap-key", false, "man in the middle: present the relay's own key to the client")
	keyPath := fs.String("key", "", "the relay's RSA-2048 key for --swap-key, PEM (default: a new key each start)")
	weakName := fs.String("weak", "", "with --swap-key, also accept the lesson-only weak suite NAME (fixed-iv or cbc) from the server")
	brief := fs.Bool("brief", false, "one line per record or line instead of the sniffer's dissection")
	mode, err := mf.parse(fs, args, stdout)
	if err != nil {
		return err
	}
	for flagName, v := range map[string]string{"listen": *listen, "upstream": *upstream} {
		if err := checkAddr(flagName, v); err != nil {
			return err
		}
	}
	cfg := attack.Config{Upstream: *upstream, Mode: mode, SwapKey: *swap, ShowTraffic: *brief, NumberRecords: !*brief}
	if err := relaySpecs(&cfg, flips, edits, replays); err != nil {
		return &cli.UsageError{Err: err, Hint: `"chat relay -h" shows the forms, with examples`}
	}
	if *weakName != "" && !*swap {
		return withHint(errors.New("--weak is for --swap-key"),
			"without --swap-key the relay passes any suite through unread: drop --weak, or add --swap-key")
	}
	if *weakName != "" {
		s, err := weak.ByName(*weakName)
		if err != nil {
			return withHint(err, "--weak takes fixed-iv or cbc")
		}
		fmt.Fprintln(stderr, "chat: "+weak.Warning)
		cfg.Suites = []protocol.CipherSuite{protocol.AES128GCM(), s}
	}
	if *swap {
		if cfg.Key, err = relayKey(*keyPath, stderr); err != nil {
			return err
		}
	}
	color := isTerminal(stdout) && os.Getenv("NO_COLOR") == ""
	out := attack.NewSyncWriter(stdout)
	cfg.Out, cfg.Color = out, color
	var tap *sniff.Tap
	if !*brief {
		tap = sniff.NewTap(sniff.Config{Out: out, Color: color})
		cfg.Wire = tap
	}
	r, err := attack.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return withHint(fmt.Errorf("listen on %s: %w", *listen, err), "pick another with --listen 127.0.0.1:9002")
	}
	fmt.Fprintf(stderr, "chat: relay (%s mode) on %s: point clients here; server %s\n", mode, ln.Addr(), *upstream)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- r.Serve(ln) }()
	select {
	case err = <-served:
	case <-ctx.Done():
		fmt.Fprintln(stderr, "chat: relay stopping")
	}
	r.Close()
	if tap != nil {
		tap.Close()
	}
	if err != nil && !errors.Is(err, attack.ErrRelayClosed) {
		return err
	}
	return nil
}

// relaySpecs parses the attack flags into cfg.
func relaySpecs(cfg *attack.Config, flips, edits, replays []string) error {
	for _, s := range flips {
		f, err := attack.ParseFlip(s)
		if err != nil {
			return err
		}
		cfg.Flips = append(cfg.Flips, f)
	}
	for _, s := range edits {
		f, err := attack.ParseEdit(s)
		if err != nil {
			return err
		}
		cfg.Flips = append(cfg.Flips, f)
	}
	for _, s := range replays {
		rp, err := attack.ParseReplay(s)
		if err != nil {
			return err
		}
		cfg.Replays = append(cfg.Replays, rp)
	}
	return nil
}

// relayKey loads the relay's key from path, or makes a throwaway one.
func relayKey(path string, stderr io.Writer) (*rsa.PrivateKey, error) {
	if path == "" {
		key, err := rsa.GenerateKey(rand.Reader, protocol.RSABits)
		if err != nil {
			return nil, fmt.Errorf("generate the relay's key: %w", err)
		}
		fmt.Fprintf(stderr, "chat: the relay's own key (not the server's): %s\n", protocol.Fingerprint(&key.PublicKey))
		return key, nil
	}
	key, _, err := protocol.LoadOrCreateKey(path, rand.Reader)
	if err != nil {
		return nil, withHint(err, "give another path with --key FILE (a missing file is created)")
	}
	fmt.Fprintf(stderr, "chat: the relay's own key (not the server's): %s\n", protocol.Fingerprint(&key.PublicKey))
	return key, nil
}
