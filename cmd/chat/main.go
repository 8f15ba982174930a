// Command chat is the chatlab chat server and client, plain or secure.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

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

Run "chat SUBCOMMAND -h" for every flag of a subcommand.
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

// errUsage means the usage text was asked for; it is not a failure.
var errUsage = errors.New("usage")

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := dispatch(args, stdin, stdout, stderr)
	if err == nil {
		return 0
	}
	if errors.Is(err, errUsage) {
		return 0
	}
	report(stderr, err)
	return 1
}

func report(stderr io.Writer, err error) {
	msg := strings.TrimPrefix(err.Error(), "chat: ")
	fmt.Fprintf(stderr, "chat: error: %s\n", msg)
	var ee *exitError
	if errors.As(err, &ee) && ee.hint != "" {
		fmt.Fprintf(stderr, "chat: hint: %s\n", ee.hint)
	}
	switch {
	case errors.Is(err, chat.ErrServerIsPlain):
		fmt.Fprintln(stderr, "chat: hint: chat client --plain ...")
	case errors.Is(err, chat.ErrServerIsSecure):
		fmt.Fprintln(stderr, "chat: hint: chat client --secure ...")
	}
}

// dispatch splits off the mode flags that come before the subcommand and
// hands the rest to it.
func dispatch(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var pre []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-h", "-help", "--help":
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		pre = append(pre, args[0])
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return withHint(errors.New("no subcommand"), `try "chat server" in one terminal and "chat client" in another`)
	}
	sub, rest := args[0], append(pre, args[1:]...)
	switch sub {
	case "server":
		return runServer(rest, stderr)
	case "client":
		return runClient(rest, stdin, stdout, stderr)
	case "relay":
		return runRelay(rest, stdout, stderr)
	case "bench":
		return runBench(rest, stdout, stderr)
	}
	return withHint(fmt.Errorf("unknown subcommand %q", sub), "the subcommands are server, client, relay and bench")
}
