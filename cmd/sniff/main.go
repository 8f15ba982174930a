// Command sniff captures loopback TCP and shows what is on the wire:
// chatlab's plain lines, its secure records and the original C program's
// frames, with every field labelled. See package chatlab/sniff.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"

	"chatlab/protocol"
	"chatlab/sniff"
	"chatlab/sniff/dump"
	"chatlab/sniff/filter"
)

const usage = `Usage: sniff [flags] [IFACE] [FILTER...]

Capture TCP on IFACE (default lo) and show what is on the wire: chatlab
plain lines, chatlab secure records and the original C program's frames,
with every field labelled, a warning on IV reuse and what it gives away.

FILTER is a small tcpdump-like subset: port N, host ADDR, optional src or
dst in front, joined with and. Example: sniff lo port 9000

Flags (they may come before or after IFACE and FILTER):
    -r FILE       read a pcap or pcapng file (tcpdump, Wireshark, tshark)
                  instead of capturing
    -w FILE       also write the shown packets to FILE as a pcap
    -c N          stop after N packets (1 or more; default: no limit)
    --follow      show each TCP connection as a conversation, reassembled
    --stats       print per-connection packets, bytes, entropy and the
                  printable share at the end (Ctrl-C prints it too)
    --key FILE    a chatlab server's private key (PEM): decrypt secure and
                  original-format connections seen from their start
    --crib TEXT   a guessed name or start of a message, to recover more
                  of a reused keystream (repeatable)

Live capture needs root or CAP_NET_RAW:
    sudo setcap cap_net_raw+ep bin/sniff
Colour is on for a terminal unless NO_COLOR is set.
`

// cribs collects repeated --crib flags.
type cribs []string

func (c *cribs) String() string     { return strings.Join(*c, ",") }
func (c *cribs) Set(v string) error { *c = append(*c, v); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		var h hinted
		fmt.Fprintf(os.Stderr, "sniff: error: %s\n", strings.TrimPrefix(err.Error(), "sniff: "))
		if errors.As(err, &h) {
			fmt.Fprintf(os.Stderr, "sniff: hint: %s\n", h.hint)
		}
		os.Exit(1)
	}
}

// hinted is an error with advice for the person at the terminal.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

func run(args []string) (err error) {
	fs := flag.NewFlagSet("sniff", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		read, write, keyFile string
		count                int
		follow, stats        bool
		crib                 cribs
	)
	fs.StringVar(&read, "r", "", "")
	fs.StringVar(&write, "w", "", "")
	fs.IntVar(&count, "c", 0, "")
	fs.BoolVar(&follow, "follow", false, "")
	fs.BoolVar(&stats, "stats", false, "")
	fs.StringVar(&keyFile, "key", "", "")
	fs.Var(&crib, "crib", "")
	// The flag package stops at the first word that is not a flag; parse
	// again after each one so flags may follow IFACE and FILTER.
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Print(usage)
				return nil
			}
			return hinted{err, "sniff -h shows the usage"}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			words = append(words, args[1:]...)
			break
		}
		words = append(words, args[0])
		args = args[1:]
	}
	// Zero is the Config's "no limit", but asked for by name it is more
	// likely a slip than a wish to see everything; tcpdump refuses it too.
	counted := false
	fs.Visit(func(f *flag.Flag) { counted = counted || f.Name == "c" })
	if counted && count < 1 {
		return hinted{fmt.Errorf("-c wants a positive number of packets, not %d", count), "leave -c out to show every packet"}
	}
	iface := "lo"
	if len(words) > 0 && !filter.StartsFilter(words[0]) {
		// A first word that is neither a filter word nor an interface is
		// a mistake, not an interface name to ignore (with -r, say).
		if _, err := net.InterfaceByName(words[0]); err != nil {
			return hinted{fmt.Errorf("%q is neither an interface nor a filter word", words[0]),
				"interfaces: " + interfaceNames() + "; a filter looks like: port 9000 and host 127.0.0.1"}
		}
		iface, words = words[0], words[1:]
	}
	flt, err := filter.Parse(words)
	if err != nil {
		return hinted{err, "a filter looks like: port 9000 or (host ::1 and portrange 9000-9010)"}
	}
	cfg := sniff.Config{
		Out:    os.Stdout,
		Color:  os.Getenv("NO_COLOR") == "" && term.IsTerminal(int(os.Stdout.Fd())),
		Follow: follow,
		Cribs:  crib,
		Stats:  stats,
		Filter: flt,
		Count:  count,
	}
	if keyFile != "" {
		data, err := os.ReadFile(keyFile)
		if err != nil {
			return err
		}
		if cfg.Key, err = protocol.ParsePrivateKey(data); err != nil {
			return hinted{err, "--key wants the server's private key, e.g. ~/.config/chatlab/server.key"}
		}
	}
	if write != "" {
		f, cerr := os.Create(write)
		if cerr != nil {
			return cerr
		}
		cfg.Dump, cfg.DumpFormat = f, dump.FormatFor(write)
		defer func() {
			if cerr := f.Close(); err == nil && cerr != nil {
				err = cerr
			}
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	if read != "" {
		return readFile(ctx, read, cfg)
	}
	packets, link, err := sniff.OpenLive(ctx, iface, flt)
	if errors.Is(err, sniff.ErrPermission) {
		return hinted{err, "run it as root, or once: sudo setcap cap_net_raw+ep bin/sniff; or read a capture with -r FILE"}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "sniff: %s\n", packets.Listening())
	cfg.Live = true
	_, err = sniff.Run(ctx, packets, link, cfg)
	packets.Close()
	fmt.Fprint(os.Stderr, sniff.StatsReport(packets.Stats(), sniff.PipeStats{}, write != ""))
	return err
}

// readFile shows the capture in the file named name ("-": standard
// input). A damaged file is shown up to the damage, then one warning
// names it; the exit status stays 0, as for tshark.
func readFile(ctx context.Context, name string, cfg sniff.Config) error {
	in, shown := io.Reader(os.Stdin), "standard input"
	if name != "-" {
		f, err := os.Open(name)
		if errors.Is(err, os.ErrPermission) {
			return hinted{err, "the file is not readable by you; check its permissions (captures made as root often are not)"}
		}
		if err != nil {
			return hinted{err, "-r wants a pcap or pcapng file, e.g. one written by sniff -w or tcpdump -w"}
		}
		defer f.Close()
		in, shown = f, name
	}
	packets, link, err := sniff.OpenFile(in)
	if err != nil {
		return hinted{fmt.Errorf("%s: %s", shown, strings.TrimPrefix(err.Error(), "sniff: ")),
			"-r reads pcap and pcapng files (plain or gzip), such as sniff -w, tcpdump -w or Wireshark write"}
	}
	_, err = sniff.Run(ctx, packets, link, cfg)
	var dmg *sniff.DamagedError
	switch {
	case errors.As(err, &dmg):
		fmt.Fprintf(os.Stderr, "sniff: warning: %s: %s (at byte %d, after %d packets); the rest is not read\n",
			shown, dmg.Reason, dmg.Offset, dmg.Packets)
		return nil
	case errors.Is(err, sniff.ErrLinkType):
		return fmt.Errorf("%s: %s", shown, strings.TrimPrefix(err.Error(), "sniff: "))
	}
	return err
}

// interfaceNames lists this machine's interfaces for a hint.
func interfaceNames() string {
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) == 0 {
		return "lo"
	}
	names := make([]string, len(ifs))
	for i, ifc := range ifs {
		names[i] = ifc.Name
	}
	return strings.Join(names, ", ")
}
