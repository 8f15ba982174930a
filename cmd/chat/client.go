package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"chatlab/cmd/internal/cli"
	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// leaveGrace bounds how long the client waits for the server's goodbye
// after it sends /quit.
const leaveGrace = 5 * time.Second

func runClient(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	plainUsage(fs, "Join a room: each line typed is a message; /help lists the commands.")
	var mf modeFlags
	mf.register(fs)
	addr := fs.String("connect", "127.0.0.1:9000", "server `address`, HOST:PORT")
	name := fs.String("name", defaultName(), "your `name` in the room")
	pin := fs.String("fingerprint", "", "accept only the server key whose fingerprint is `SHA256:...`")
	known := fs.String("known", "", "known-servers `file` (default: known_servers in the chatlab config dir)")
	var theme cli.Theme
	fs.Var(&theme, "theme", cli.ThemeUsage)
	mode, err := mf.parse(fs, args, stdout)
	if err != nil {
		return err
	}
	if err := clientFlags(mode, *addr, *pin, *known); err != nil {
		return err
	}
	if err := protocol.ValidName(*name); err != nil {
		return &cli.UsageError{Err: fmt.Errorf("--name %q: %v", *name, err), Hint: "for example --name alice"}
	}
	cfg := chat.ClientConfig{Mode: mode, Addr: *addr, Name: *name, Fingerprint: *pin}
	if mode == chat.Secure && *pin == "" {
		path := *known
		if path == "" {
			dir, err := protocol.ConfigDir()
			if err != nil {
				return withHint(err, "or pin the server with --fingerprint, or name a file with --known")
			}
			path = filepath.Join(dir, "known_servers")
		}
		cfg.Known = &protocol.KnownServers{Path: path}
	}

	if mode == chat.Secure {
		if cfg.KeyLog, err = protocol.OpenKeyLog(stderr); err != nil {
			return err
		}
		defer cfg.KeyLog.Close()
	}
	term := newTerminal(stdin, stdout, theme)
	cl, err := chat.Dial(context.Background(), cfg)
	if err != nil {
		return dialHint(err, cfg)
	}
	defer cl.Close()
	if mode == chat.Secure {
		describeServer(stderr, cl, cfg)
	} else {
		fmt.Fprintln(stderr, "chat: plain mode: what you type crosses the network as readable text")
	}
	if err := term.startEditing(stdin); err != nil {
		return err
	}
	defer term.finish()
	return converse(cl, term, term.lines(stdin))
}

// fingerprintHint says where the fingerprint to copy is.
const fingerprintHint = `copy the word that starts with SHA256: from the server's line ` +
	`"chat: server key fingerprint SHA256:…" (43 characters follow SHA256:)`

// clientFlags checks the flags that need no network: the address, the
// fingerprint's form, and that plain mode is not asked to check a key.
func clientFlags(mode chat.Mode, addr, pin, known string) error {
	if err := checkAddr("connect", addr); err != nil {
		return err
	}
	if mode == chat.Plain {
		for flagName, v := range map[string]string{"fingerprint": pin, "known": known} {
			if v != "" {
				return cli.Usagef("only secure mode (the default) can check whom you talk to: drop --plain",
					"--%s with --plain: a plain server has no key, so there is nothing to check", flagName)
			}
		}
	}
	if pin != "" && !validFingerprint(pin) {
		return cli.Usagef(fingerprintHint, "--fingerprint %q is not a fingerprint", pin)
	}
	return nil
}

// validFingerprint checks the form "SHA256:" + unpadded base64 of 32 bytes.
func validFingerprint(fp string) bool {
	b64, ok := strings.CutPrefix(fp, "SHA256:")
	sum, err := base64.RawStdEncoding.DecodeString(b64)
	return ok && err == nil && len(sum) == sha256.Size
}

func defaultName() string {
	for _, v := range []string{"USER", "LOGNAME"} {
		if n := os.Getenv(v); protocol.ValidName(n) == nil {
			return n
		}
	}
	return "guest"
}

func describeServer(stderr io.Writer, cl *chat.Client, cfg chat.ClientConfig) {
	say := func(format string, args ...any) { cli.Say(stderr, "chat: ", fmt.Sprintf(format, args...)) }
	say("server key fingerprint %s", cl.Fingerprint)
	switch {
	case cfg.Fingerprint != "":
		say("it matches --fingerprint")
	case cl.FirstUse:
		say("first connection to %s: fingerprint remembered in %s", cfg.Addr, cfg.Known.Path)
		say("compare it with the one the server printed; from now on a different key is refused")
	default:
		say("it matches the one remembered in %s", cfg.Known.Path)
	}
	if cl.Suite.Weak() {
		say("WARNING: the server uses %s", cl.Suite)
	}
}

func dialHint(err error, cfg chat.ClientConfig) error {
	var changed *protocol.FingerprintChangedError
	switch {
	case errors.As(err, &changed):
		// The error already says which line to delete if the change is
		// known; the hint says how to find out.
		return withHint(fmt.Errorf("REFUSING TO CONNECT: %s", changed.Error()),
			"ask the server's owner which fingerprint it printed at start, by a way an attacker cannot change (in person, on the projector)")
	case errors.Is(err, chat.ErrPinMismatch):
		return withHint(err, "someone may be in the middle; check the fingerprint the server printed")
	case errors.Is(err, chat.ErrServerIsPlain), errors.Is(err, chat.ErrServerIsSecure):
		return err
	case errors.Is(err, chat.ErrNotConfirmed):
		return withHint(err, "the key exchange went to a server that could not use it (one whose key is not the one it offered?); none of your messages was sent")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return withHint(err, fmt.Sprintf("something on %s took the connection and closed it before the handshake ended: a relay whose server is down or in the other mode, or a server that is not chatlab; check its output", cfg.Addr))
	}
	return withHint(err, fmt.Sprintf("is a chat server running on %s? start one with: chat server --%s", cfg.Addr, cfg.Mode))
}

// converse runs the two halves of the client: one goroutine prints what
// the server sends, this one sends what the user types.
func converse(cl *chat.Client, term *terminal, next func() (string, error)) error {
	received := make(chan error, 1)
	go func() {
		for {
			line, err := cl.Receive()
			if err != nil {
				received <- err
				return
			}
			term.show(line)
		}
	}()
	typed := make(chan string)
	inputDone := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop) // lets the input reader go once the conversation ends
	go readInput(next, typed, inputDone, stop)

	term.prompt()
	for {
		select {
		case err := <-received:
			return serverGone(err, term)
		case line := <-typed:
			if quit, err := handleTyped(cl, term, line); err != nil || quit {
				if err != nil {
					return sendFailed(err, received, term)
				}
				return leave(received, term)
			}
			term.prompt()
		case err := <-inputDone:
			if err != nil {
				return fmt.Errorf("read input: %w", err)
			}
			if err := cl.Quit(); err != nil {
				return sendFailed(fmt.Errorf("leave: %w", err), received, term)
			}
			return leave(received, term)
		}
	}
}

// handleTyped sends one typed line, or handles it locally.
func handleTyped(cl *chat.Client, term *terminal, line string) (quit bool, err error) {
	line = strings.TrimRight(line, "\r")
	switch {
	case strings.TrimSpace(line) == "":
		return false, nil
	case strings.TrimSpace(line) == "/help":
		term.local(chat.HelpText)
		return false, nil
	case len(line) > protocol.MaxMessage:
		term.local(fmt.Sprintf("not sent: the message is longer than %d bytes", protocol.MaxMessage))
		return false, nil
	}
	if err := cl.Send(line); err != nil {
		return false, fmt.Errorf("send: %w", err)
	}
	return strings.TrimSpace(line) == "/quit", nil
}

// leave waits for the server to close after /quit. Being thrown out
// meanwhile is still an error, so scripts can tell.
func leave(received <-chan error, term *terminal) error {
	select {
	case <-received:
	case <-time.After(leaveGrace):
	}
	if reason := term.disconnected(); reason != "" {
		return fmt.Errorf("the server disconnected this client: %s", reason)
	}
	return nil
}

// sendFailed explains a failed send. The server has usually gone, and
// the receiving half knows why (it may have said so), so ask it first.
func sendFailed(err error, received <-chan error, term *terminal) error {
	select {
	case rerr := <-received:
		return serverGone(rerr, term)
	case <-time.After(leaveGrace):
		return err
	}
}

func serverGone(err error, term *terminal) error {
	if reason := term.disconnected(); reason != "" {
		return fmt.Errorf("the server disconnected this client: %s", reason)
	}
	if term.sawShutdown() {
		return nil
	}
	if errors.Is(err, io.EOF) {
		return errors.New("the server closed the connection")
	}
	return fmt.Errorf("connection lost: %w", err)
}

// maxTypedLine bounds what is kept of one typed line: anything longer
// than a message can be is refused anyway, so the rest is skipped.
const maxTypedLine = protocol.MaxMessage + 1

// readInput sends the lines next reads until its input ends or stop
// closes. A line longer than maxTypedLine arrives cut to that length, to
// be refused.
func readInput(next func() (string, error), typed chan<- string, done chan<- error, stop <-chan struct{}) {
	for {
		line, err := next()
		if line != "" || err == nil {
			select {
			case typed <- line:
			case <-stop:
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			select {
			case done <- err:
			case <-stop:
			}
			return
		}
	}
}

// readTypedLine reads one line without its newline, keeping at most
// maxTypedLine bytes of it.
func readTypedLine(br *bufio.Reader) (string, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag[:min(len(frag), maxTypedLine-len(line))]...)
		if err == bufio.ErrBufferFull {
			continue
		}
		// The newline, if there was one, is in line unless the line was
		// cut; either way what is returned has none.
		return strings.TrimSuffix(string(line), "\n"), err
	}
}
