// Command sniff captures loopback TCP and shows what is on the wire:
// chatlab's plain lines, its secure records and the original C program's
// frames, with every field labelled. See package chatlab/sniff.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"

	"chatlab/cmd/internal/cli"
	"chatlab/protocol"
	"chatlab/sniff"
	"chatlab/sniff/dump"
	"chatlab/sniff/render"
	"chatlab/sniff/web"
	"chatlab/sniff/wireshark"
)

const usage = `Usage: sniff [flags] [IFACE] [FILTER...]

Capture TCP on IFACE (default lo) and show what is on the wire: chatlab
plain lines, chatlab secure records and the original C program's frames,
with every field labelled, a warning on IV reuse and what it gives away.

FILTER is tcpdump's language for TCP, as separate words or one quoted
argument: port N, portrange A-B, host ADDR, net CIDR, tcp, ip, ip6, with
src or dst in front, joined with and, or, not and parentheses.
Example: sniff lo port 9000 or port 9001

Flags (they may come before or after IFACE and FILTER):
    -i IFACE      the interface to capture on (or give it as the first word)
    -r FILE       read a pcap or pcapng file (tcpdump, Wireshark, tshark;
                  gzip too) instead of capturing; - reads standard input
    -w FILE       also write the packets to FILE, packet by packet: pcapng
                  with each packet's dissection as a comment when FILE ends
                  in .pcapng, else pcap; - writes to standard output
    -c N          stop after N packets (1 or more; default: no limit)
    --follow      show each TCP connection as a conversation, reassembled
    -X, -x, -A    add full dumps: hex and ASCII, hex, or ASCII
    -q            one line per packet, no dissection
    -l            flush the output after every packet, even to a pipe
    -s SNAPLEN    keep at most SNAPLEN bytes of each captured packet
    -B KIB        the capture buffer in KiB (default 32768)
    -D            list the interfaces that can be captured on
    --stats       print per-connection packets, bytes, entropy and the
                  printable share at the end (Ctrl-C prints it too)
    --key FILE    a chatlab server's private key (PEM): decrypt secure and
                  original-format connections seen from their start
    --keylog FILE a key log (CHATLAB_KEYLOGFILE): decrypt the sessions it
                  names, without the server's key
    --crib TEXT   a guessed name or start of a message, to recover more
                  of a reused keystream (repeatable)
    --web ADDR    also show it live on a web page at ADDR, e.g.
                  127.0.0.1:8080 (another address lets the network watch)
    --wireshark-plugin          print the Wireshark dissector (Lua)
    --install-wireshark-plugin  install it for Wireshark and tshark
    --version     print the version
-n, -nn and -v are accepted as tcpdump takes them: sniff never resolves
names. -U flushes -w after every packet (a live -w is flushed whenever
the capture is idle anyway). -q with -w shows nothing: a plain copy.

Live capture needs root or CAP_NET_RAW:
    sudo setcap cap_net_raw+ep bin/sniff
Colour is on for a terminal unless NO_COLOR is set.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is sniff with its arguments and outputs, returning the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	err := sniffMain(args, stdout, stderr)
	var ue *cli.UsageError
	var h hinted
	switch {
	case err == nil, errors.Is(err, cli.ErrHelp):
		return cli.ExitOK
	case errors.As(err, &ue):
		cli.Say(stderr, "sniff: error: ", cli.TrimPrefixes(err.Error(), "sniff: "))
		cli.Say(stderr, "sniff: hint: ", ue.Hint)
		return cli.ExitUsage
	}
	cli.Say(stderr, "sniff: error: ", cli.TrimPrefixes(err.Error(), "sniff: "))
	if errors.As(err, &h) {
		cli.Say(stderr, "sniff: hint: ", h.hint)
	}
	return cli.ExitError
}

// hinted is an error with advice for the person at the terminal.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

func sniffMain(args []string, stdout, stderr io.Writer) (err error) {
	o, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	switch {
	case o.version:
		fmt.Fprintln(stdout, cli.Version("sniff"))
		return nil
	case o.list:
		return listInterfaces(stdout)
	case o.plugin:
		_, err := stdout.Write(wireshark.Plugin())
		return err
	case o.installPlugin:
		path, err := wireshark.Install("")
		if err != nil {
			return hinted{err, "the plugin is also printed by: sniff --wireshark-plugin > chatlab.lua"}
		}
		fmt.Fprintf(stdout, "installed the chatlab dissector as %s\nWireshark and tshark load it when they next start.\n", path)
		return nil
	}
	// With -w - the packets are the output, as with tcpdump; what sniff
	// shows goes to standard error, and only if asked for.
	display := stdout
	if o.write != "" && o.quiet {
		// tcpdump -w shows nothing; -q asks sniff for the same, and the
		// packets are only copied.
		display = nil
	}
	if o.write == "-" {
		display = nil
		if o.follow || o.stats || o.dumps != render.DumpNone {
			display = stderr
		}
	}
	cfg := sniff.Config{
		Out:            display,
		Color:          isTerminal(display) && os.Getenv("NO_COLOR") == "",
		Follow:         o.follow,
		Dumps:          o.dumps,
		Quiet:          o.quiet,
		Cribs:          o.cribs,
		Stats:          o.stats,
		Filter:         o.filter,
		Count:          o.count,
		LineBuffered:   o.lineBuffered || isTerminal(display), // a person watching sees each packet as it comes
		PacketBuffered: o.packetBuffered,
	}
	if o.keyFile != "" {
		data, err := os.ReadFile(o.keyFile)
		if err != nil {
			return err
		}
		if cfg.Key, err = protocol.ParsePrivateKey(data); err != nil {
			return hinted{err, "--key wants the server's private key, e.g. ~/.config/chatlab/server.key"}
		}
	}
	if o.keyLog != "" {
		kl, err := readKeyLog(o.keyLog)
		if err != nil {
			return err
		}
		cfg.KeyLog = kl
	}
	if o.write != "" {
		out := io.Writer(stdout)
		if o.write != "-" {
			f, err := os.Create(o.write)
			if err != nil {
				return err
			}
			defer func() {
				if cerr := f.Close(); err == nil && cerr != nil {
					err = cerr
				}
			}()
			out = f
		}
		cfg.Dump, cfg.DumpFormat = out, dump.FormatFor(o.write)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	var view *web.View
	if o.web != "" {
		view = web.New("sniff " + strings.Join(args, " "))
		url, err := web.Serve(ctx, o.web, view, stderr)
		if err != nil {
			return hinted{err, "--web wants an address to listen on, such as 127.0.0.1:8080"}
		}
		fmt.Fprintf(stderr, "sniff: the page is at %s\n", url)
		cfg.Sink = view
	}
	if o.read != "" {
		if err := readFile(ctx, o.read, cfg, stderr); err != nil || o.web == "" {
			return err
		}
		// The page shows what the file held for as long as anyone looks.
		view.Done("the file is read")
		fmt.Fprintln(stderr, "sniff: the file is read; the page stays up until Ctrl-C")
		<-ctx.Done()
		return nil
	}
	return capture(ctx, o, cfg, stderr)
}

// capture shows a live capture until ctx ends or -c is reached.
func capture(ctx context.Context, o *options, cfg sniff.Config, stderr io.Writer) error {
	packets, err := sniff.OpenLiveWith(ctx, o.iface, o.filter, sniff.LiveOptions{
		BufferSize: o.bufferKiB << 10, Snaplen: o.snaplen,
	})
	if errors.Is(err, sniff.ErrPermission) {
		return hinted{err, "as root, or after: sudo setcap cap_net_raw+ep bin/sniff; -r FILE reads a capture"}
	}
	if _, ierr := net.InterfaceByName(o.iface); ierr != nil {
		return hinted{fmt.Errorf("no interface %q", o.iface), "interfaces: " + interfaceNames() + " (sniff -D lists them)"}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "sniff: %s\n", packets.Listening())
	cfg.Live = true
	var ps sniff.PipeStats
	cfg.PipeStats = &ps
	_, err = sniff.Run(ctx, packets, packets.LinkType(), cfg)
	packets.Close()
	fmt.Fprint(stderr, sniff.StatsReport(packets.Stats(), ps, o.write != ""))
	return err
}

// readFile shows the capture in the file named name ("-": standard
// input). A damaged file is shown up to the damage, then one warning
// names it; the exit status stays 0, as for tshark.
func readFile(ctx context.Context, name string, cfg sniff.Config, stderr io.Writer) error {
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
	if f, ok := in.(*os.File); ok && cfg.Dump != nil && cfg.DumpFormat == dump.PCAPNG {
		// What the IV reuse recovery reads is known only at the end: a
		// first reading finds it, so that the annotated file carries it
		// on the packets it came from.
		if cfg.Notes, err = sniff.RecoveryNotes(ctx, packets, link, cfg); err != nil && !errors.As(err, new(*sniff.DamagedError)) {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if packets, link, err = sniff.OpenFile(f); err != nil {
			return err
		}
	}
	_, err = sniff.Run(ctx, packets, link, cfg)
	var dmg *sniff.DamagedError
	switch {
	case errors.As(err, &dmg):
		cli.Say(stderr, "sniff: warning: ", fmt.Sprintf("%s: %s; %d packets were read, the rest is not (byte %d)",
			shown, dmg.Reason, dmg.Packets, dmg.Offset))
		return nil
	case errors.Is(err, sniff.ErrLinkType):
		return fmt.Errorf("%s: %s", shown, strings.TrimPrefix(err.Error(), "sniff: "))
	}
	return err
}

// readKeyLog parses a key log file.
func readKeyLog(name string) (sniff.KeyLog, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, hinted{err, "--keylog wants the file CHATLAB_KEYLOGFILE named when chat ran"}
	}
	defer f.Close()
	kl, err := protocol.ParseKeyLog(f)
	if err != nil {
		return nil, hinted{fmt.Errorf("%s: %w", name, err), "a key log has one line per session: CHATLAB_SESSION TRANSCRIPT KEY"}
	}
	return kl, nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
