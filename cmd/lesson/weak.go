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
	"os/signal"
	"syscall"
	"time"

	"chatlab/cmd/internal/cli"
	"chatlab/protocol"
	"chatlab/protocol/chat"
	"chatlab/protocol/weak"
)

// leaveGrace bounds how long a weak client waits for the server's goodbye.
const leaveGrace = 5 * time.Second

// Usages of "lesson server" and "lesson client".
const (
	serverUsage = `Usage: lesson server --weak NAME [--listen ADDR]

A chat server with a deliberately weak suite, for the exercises of lessons
3, 4 and 6. NAME is fixed-iv (lesson 3) or cbc (lessons 4 and 6). --listen
defaults to 127.0.0.1:9000. Ctrl-C stops it.
`
	clientUsage = `Usage: lesson client --weak NAME [--connect ADDR] [--name NAME]

A chat client for "lesson server --weak NAME": each line read is a message,
and what the room says is printed. --connect defaults to 127.0.0.1:9000,
--name to guest. End input (Ctrl-D) to leave.
`
)

// weakFlags are the flags of "lesson server" and "lesson client".
func weakFlags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	suite := fs.String("weak", "", "the weak suite: fixed-iv (lesson 3) or cbc (lessons 4 and 6); required")
	return fs, suite
}

// parseWeak parses a subcommand's flags, printing its usage to stdout for
// -h.
func parseWeak(fs *flag.FlagSet, args []string, usage string, stdout io.Writer) error {
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage) }
	return cli.Parse(fs, args, stdout, "lesson "+fs.Name())
}

// weakSuite resolves --weak and prints the warning.
func weakSuite(name string, stderr io.Writer) (protocol.CipherSuite, error) {
	if name == "" {
		return nil, cli.Usagef("this command exists only for the weak suites: --weak fixed-iv or --weak cbc; otherwise use bin/chat",
			"--weak is required")
	}
	s, err := weak.ByName(name)
	if err != nil {
		return nil, &cli.UsageError{Err: err, Hint: "--weak takes fixed-iv or cbc"}
	}
	cli.Say(stderr, "lesson: ", fmt.Sprintf("%s: %s", weak.Warning, s.ID()))
	return s, nil
}

// runWeakServer serves one room with a weak suite, for the exercises of
// lessons 3, 4 and 6.
func runWeakServer(args []string, stdout, stderr io.Writer) error {
	fs, name := weakFlags("server")
	listen := fs.String("listen", "127.0.0.1:9000", "address to listen on")
	if err := parseWeak(fs, args, serverUsage, stdout); err != nil {
		return err
	}
	if err := cli.CheckAddr("listen", *listen); err != nil {
		return err
	}
	suite, err := weakSuite(*name, stderr)
	if err != nil {
		return err
	}
	key, err := rsa.GenerateKey(rand.Reader, protocol.RSABits)
	if err != nil {
		return err
	}
	keyLog, err := protocol.OpenKeyLog(stderr)
	if err != nil {
		return err
	}
	defer keyLog.Close()
	srv, err := chat.NewServer(chat.Config{Mode: chat.Secure, Key: key, Suite: suite, KeyLog: keyLog})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return hinted{fmt.Errorf("listen on %s: %w", *listen, err),
			"stop the server running there (Ctrl-C in its terminal), or pick a free port: --listen 127.0.0.1:9100"}
	}
	cli.Say(stderr, "lesson: ", fmt.Sprintf("weak server on %s, key %s (new each start)", ln.Addr(), protocol.Fingerprint(&key.PublicKey)))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), leaveGrace)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, chat.ErrServerClosed) {
		return err
	}
	return nil
}

// runWeakClient joins a weak server: each input line is a message, and
// what the server sends is printed.
func runWeakClient(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, name := weakFlags("client")
	addr := fs.String("connect", "127.0.0.1:9000", "server address")
	member := fs.String("name", "guest", "your name in the room")
	if err := parseWeak(fs, args, clientUsage, stdout); err != nil {
		return err
	}
	if err := cli.CheckAddr("connect", *addr); err != nil {
		return err
	}
	suite, err := weakSuite(*name, stderr)
	if err != nil {
		return err
	}
	keyLog, err := protocol.OpenKeyLog(stderr)
	if err != nil {
		return err
	}
	defer keyLog.Close()
	cl, err := chat.Dial(context.Background(), chat.ClientConfig{Mode: chat.Secure, Addr: *addr, Name: *member,
		Suites: []protocol.CipherSuite{suite}, KeyLog: keyLog})
	if err != nil {
		return hinted{err, "is a weak server running there? start one with: bin/lesson server --weak " + *name}
	}
	defer cl.Close()
	// On a terminal, the arrow keys edit the line and bring back earlier
	// ones, as in chat client: an exercise that says "type it twice" is
	// met with the up arrow, which must never send its escape bytes.
	ed, err := cli.NewEditor(stdin, stdout, "> ")
	if err != nil {
		return err
	}
	defer ed.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			l, err := cl.Receive()
			if err != nil {
				return
			}
			fmt.Fprintln(ed.Out, l)
		}
	}()
	for {
		line, err := ed.ReadLine()
		if err != nil {
			break
		}
		if err := cl.Send(line); err != nil {
			return err
		}
	}
	cl.Quit()
	select {
	case <-done:
	case <-time.After(leaveGrace):
	}
	return nil
}
