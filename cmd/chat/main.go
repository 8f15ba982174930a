// Command chat is the chatlab chat server and client, plain or secure.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"chatlab/cmd/internal/cli"
	"chatlab/protocol/chat"
)

const usage = `Usage:
  chat server [--plain|--secure] [--listen ADDR] [--key FILE]
  chat client [--plain|--secure] [--connect ADDR] [--name NAME] [--fingerprint SHA256:...]
  chat relay  [--plain|--secure] [--listen ADDR] [--upstream ADDR] [attack flags]
  chat bench  [--mode plain|secure|both] [--clients N] [--messages M] [--size BYTES] [--json]

A group chat that runs with encryption off (--plain) or on (--secure, the
default). --plain and --secure may come before or after the subcommand.

  server   Serve one room on ADDR (default 127.0.0.1:9000). In secure mode the
           server's RSA-2048 key is read from FILE, or made and saved there
           (mode 0600) on first start; its fingerprint is printed at start.
  client   Join a room. Each line typed is a message; lines starting with /
           are commands: /nick NAME, /who, /quit, /help. At the end of input
           the client leaves cleanly. In secure mode the server's fingerprint
           is remembered on first use and a changed key is refused.
  relay    An attacker between clients and server (127.0.0.1:9001 by
           default): it prints what passes and can flip bits, replay
           records or swap the server's key. For the lessons.
  bench    Measure both modes in this process on loopback: messages per
           second, latency, handshake time, memory per idle client.

Examples:
  chat server --plain
  chat client --plain --name alice
  nc 127.0.0.1 9000                      (a plain server speaks text lines)
  chat --secure server --key ./server.key
  (echo hi; sleep 1) | chat client --name bob

Run "chat SUBCOMMAND -h" (or "chat help SUBCOMMAND") for every flag of a
subcommand, and "chat --version" for the build.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// exitError carries a hint to print under the error.
type exitError struct {
	err  error
	hint string
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withHint(err error, hint string) error { return &exitError{err: err, hint: hint} }

// errUsage means the usage text was asked for and printed; it is not a
// failure.
var errUsage = cli.ErrHelp

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := dispatch(args, stdin, stdout, stderr)
	if err == nil || errors.Is(err, errUsage) {
		return cli.ExitOK
	}
	report(stderr, err)
	var ue *cli.UsageError
	if errors.As(err, &ue) {
		return cli.ExitUsage
	}
	return cli.ExitError
}

func report(stderr io.Writer, err error) {
	// The protocol/chat package's own prefix would say chat twice.
	cli.Say(stderr, "chat: error: ", cli.TrimPrefixes(err.Error(), "chat: "))
	var ee *exitError
	var ue *cli.UsageError
	switch {
	case errors.As(err, &ee) && ee.hint != "":
		cli.Say(stderr, "chat: hint: ", ee.hint)
	case errors.As(err, &ue) && ue.Hint != "":
		cli.Say(stderr, "chat: hint: ", ue.Hint)
	}
	switch {
	case errors.Is(err, chat.ErrServerIsPlain):
		fmt.Fprintln(stderr, "chat: hint: chat client --plain ...")
	case errors.Is(err, chat.ErrServerIsSecure):
		fmt.Fprintln(stderr, "chat: hint: chat client --secure ...")
	}
}

// subcommands names what "chat help" and a mistyped subcommand list.
const subcommands = "server, client, relay and bench"

// dispatch splits off the mode flags that come before the subcommand and
// hands the rest to it.
func dispatch(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var pre []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch {
		case cli.IsHelp(args[0]):
			fmt.Fprint(stdout, usage)
			return errUsage
		case args[0] == "--version" || args[0] == "-version":
			fmt.Fprintln(stdout, cli.Version("chat"))
			return nil
		}
		pre = append(pre, args[0])
		args = args[1:]
	}
	if len(args) == 0 {
		return cli.Usagef(`try "chat server" in one terminal and "chat client" in another; "chat -h" says more`, "no subcommand")
	}
	sub, rest := args[0], append(pre, args[1:]...)
	if sub == "help" {
		// "chat help" is "chat -h"; "chat help client" is "chat client -h".
		if len(args) == 1 {
			fmt.Fprint(stdout, usage)
			return errUsage
		}
		sub, rest = args[1], []string{"-h"}
	}
	switch sub {
	case "server":
		return runServer(rest, stdout, stderr)
	case "client":
		return runClient(rest, stdin, stdout, stderr)
	case "relay":
		return runRelay(rest, stdout, stderr)
	case "bench":
		return runBench(rest, stdout, stderr)
	}
	return cli.Usagef("the subcommands are "+subcommands, "unknown subcommand %q", sub)
}
