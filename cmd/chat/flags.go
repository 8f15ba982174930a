package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

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
func (m *modeFlags) parse(fs *flag.FlagSet, args []string, stderr io.Writer) (chat.Mode, error) {
	if err := parse(fs, args, stderr); err != nil {
		return 0, err
	}
	return m.resolve()
}

func (m *modeFlags) resolve() (chat.Mode, error) {
	if m.plain && m.secure {
		return 0, withHint(errors.New("--plain and --secure both given"), "pick one")
	}
	if m.plain {
		return chat.Plain, nil
	}
	return chat.Secure, nil
}

// parse parses args with fs, turning -h into errUsage and extra arguments
// into an error.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return withHint(err, fmt.Sprintf(`"chat %s -h" lists the flags`, fs.Name()))
	}
	if fs.NArg() > 0 {
		return withHint(fmt.Errorf("unexpected argument %q", fs.Arg(0)), fmt.Sprintf(`"chat %s -h" lists the flags`, fs.Name()))
	}
	return nil
}

// plainUsage makes -h print "Usage: chat NAME [flags]" and the flags.
func plainUsage(fs *flag.FlagSet, stderr io.Writer) {
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: chat %s [flags]\n\nFlags:\n", fs.Name())
		fs.PrintDefaults()
	}
}
