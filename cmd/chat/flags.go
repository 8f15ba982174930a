package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"chatlab/cmd/internal/cli"
	"chatlab/protocol/chat"
)

// modeFlags registers --plain and --secure on fs; call resolve after Parse.
type modeFlags struct {
	plain, secure bool
}

func (m *modeFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&m.plain, "plain", false, "no encryption: text lines, readable on the wire")
	fs.BoolVar(&m.secure, "secure", false, "RSA-2048 key transport and AES-128-GCM records (the default)")
}

// parse parses args with fs (which has m registered) and returns the mode.
func (m *modeFlags) parse(fs *flag.FlagSet, args []string, stdout io.Writer) (chat.Mode, error) {
	if err := parse(fs, args, stdout); err != nil {
		return 0, err
	}
	return m.resolve()
}

func (m *modeFlags) resolve() (chat.Mode, error) {
	if m.plain && m.secure {
		return 0, &cli.UsageError{Err: errors.New("--plain and --secure both given"), Hint: "pick one"}
	}
	if m.plain {
		return chat.Plain, nil
	}
	return chat.Secure, nil
}

// parse parses args with fs: -h prints its usage to stdout and returns
// errUsage, and a mistake comes back once, as a *cli.UsageError.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	return cli.Parse(fs, args, stdout, "chat "+fs.Name())
}

// plainUsage makes -h print "Usage: chat NAME [flags]", what the
// subcommand does, and the flags.
func plainUsage(fs *flag.FlagSet, what string) {
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: chat %s [flags]\n\n%s\n\nFlags:\n", fs.Name(), what)
		cli.PrintFlags(w, fs)
	}
}

// checkAddr refuses an address that is not HOST:PORT.
func checkAddr(flagName, addr string) error { return cli.CheckAddr(flagName, addr) }
