package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"chatlab/cmd/internal/cli"
	"chatlab/sniff/filter"
	"chatlab/sniff/render"
)

// options is what the command line asked for.
type options struct {
	iface, read, write, keyFile, keyLog, web string
	count, snaplen, bufferKiB                int
	follow, stats, quiet, lineBuffered       bool
	packetBuffered                           bool
	list, version, plugin, installPlugin     bool
	dumps                                    render.Dump
	cribs                                    cribs
	filter                                   *filter.Filter
}

// cribs collects repeated --crib flags.
type cribs []string

func (c *cribs) String() string     { return strings.Join(*c, ",") }
func (c *cribs) Set(v string) error { *c = append(*c, v); return nil }

// dumpFlag sets one of -x, -X and -A; the last one given wins, as in
// tcpdump.
type dumpFlag struct {
	to  *render.Dump
	val render.Dump
}

func (d dumpFlag) String() string   { return "" }
func (d dumpFlag) IsBoolFlag() bool { return true }
func (d dumpFlag) Set(v string) error {
	on, err := strconv.ParseBool(v)
	if err != nil {
		return err
	}
	if on {
		*d.to = d.val
	}
	return nil
}

// groupable are tcpdump's one-letter flags that take no value, which
// tcpdump users run together: -nnX, -qn.
const groupable = "nXxAqvlUD"

// expandGroups splits "-nnX" into "-n", "-n", "-X", as getopt does.
func expandGroups(args []string) []string {
	var out []string
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' && strings.Trim(a[1:], groupable) == "" {
			for _, c := range a[1:] {
				out = append(out, "-"+string(c))
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

// parseFlags reads the command line. Flags may come before, between or
// after IFACE and FILTER, and the filter may be one quoted argument.
func parseFlags(args []string, stdout io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("sniff", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.iface, "i", "", "")
	fs.StringVar(&o.read, "r", "", "")
	fs.StringVar(&o.write, "w", "", "")
	fs.IntVar(&o.count, "c", 0, "")
	fs.IntVar(&o.snaplen, "s", 0, "")
	fs.IntVar(&o.bufferKiB, "B", 0, "")
	fs.BoolVar(&o.follow, "follow", false, "")
	fs.BoolVar(&o.stats, "stats", false, "")
	fs.StringVar(&o.keyFile, "key", "", "")
	fs.StringVar(&o.keyLog, "keylog", "", "")
	fs.StringVar(&o.web, "web", "", "")
	fs.Var(&o.cribs, "crib", "")
	fs.Var(dumpFlag{&o.dumps, render.DumpHex}, "x", "")
	fs.Var(dumpFlag{&o.dumps, render.DumpHexASCII}, "X", "")
	fs.Var(dumpFlag{&o.dumps, render.DumpASCII}, "A", "")
	fs.BoolVar(&o.quiet, "q", false, "")
	fs.BoolVar(&o.lineBuffered, "l", false, "")
	fs.BoolVar(&o.packetBuffered, "U", false, "")
	fs.BoolVar(&o.list, "D", false, "")
	fs.BoolVar(&o.version, "version", false, "")
	fs.BoolVar(&o.plugin, "wireshark-plugin", false, "")
	fs.BoolVar(&o.installPlugin, "install-wireshark-plugin", false, "")
	// Accepted for tcpdump's sake: sniff never resolves names (-n, -nn)
	// and has one level of detail (-v).
	var ignored bool
	for _, name := range []string{"n", "nn", "v", "vv"} {
		fs.BoolVar(&ignored, name, false, "")
	}
	// The flag package stops at the first word that is not a flag; parse
	// again after each one so flags may follow IFACE and FILTER.
	args = expandGroups(args)
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, usage)
				return nil, cli.ErrHelp
			}
			return nil, cli.FlagError(fs, err, "sniff")
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
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	// Zero is the Config's "no limit", but asked for by name it is more
	// likely a slip than a wish to see everything; tcpdump refuses it too.
	if set["c"] && o.count < 1 {
		return nil, cli.Usagef("leave -c out to show every packet", "-c wants a positive number of packets, not %d", o.count)
	}
	if set["s"] && (o.snaplen < 0 || o.snaplen > filter.Snaplen) {
		return nil, cli.Usagef(fmt.Sprintf("-s 0 keeps whole packets (%d bytes), as tcpdump's default", filter.Snaplen),
			"-s wants a snapshot length from 0 to %d bytes, not %d", filter.Snaplen, o.snaplen)
	}
	if set["B"] && o.bufferKiB < 1 {
		return nil, cli.Usagef("-B 65536 gives a 64 MiB ring", "-B wants the capture buffer's size in KiB, not %d", o.bufferKiB)
	}
	if set["r"] && set["i"] {
		return nil, cli.Usagef("-r FILE reads a capture; -i IFACE captures live: pick one", "-r and -i together")
	}
	if o.iface == "" && len(words) > 0 && !filter.StartsFilter(words[0]) {
		// A first word that is neither a filter word nor an interface is
		// a mistake, not an interface name to ignore (with -r, say).
		if _, err := net.InterfaceByName(words[0]); err != nil {
			return nil, cli.Usagef("interfaces: "+interfaceNames()+"; a filter looks like: port 9000 and host 127.0.0.1",
				"%q is neither an interface nor a filter word", words[0])
		}
		o.iface, words = words[0], words[1:]
	}
	if o.iface == "" {
		o.iface = "lo"
	}
	flt, err := filter.Parse(words)
	if err != nil {
		return nil, cli.Usagef("a filter looks like: port 9000 or (host ::1 and portrange 9000-9010)", "%s",
			strings.TrimPrefix(err.Error(), "sniff: "))
	}
	o.filter = flt
	return o, nil
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
