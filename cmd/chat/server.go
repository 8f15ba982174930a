package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// shutdownGrace bounds how long Ctrl-C waits for members to be told.
const shutdownGrace = 5 * time.Second

func runServer(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	plainUsage(fs, "Serve one room. In secure mode its key's fingerprint is printed at start.")
	var mf modeFlags
	mf.register(fs)
	listen := fs.String("listen", "127.0.0.1:9000", "`address` to listen on, HOST:PORT")
	keyPath := fs.String("key", "", "the server's RSA-2048 private key, PEM `file` (default: server.key in the chatlab config dir)")
	quiet := fs.Bool("quiet", false, "do not log joins and leaves")
	mode, err := mf.parse(fs, args, stdout)
	if err != nil {
		return err
	}
	if err := checkAddr("listen", *listen); err != nil {
		return err
	}
	logger := log.New(stderr, "chat: ", log.Ltime)
	if *quiet {
		logger = log.New(io.Discard, "", 0)
	}
	// Listen first: a bad address should not leave a new key behind.
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return listenError(*listen, err)
	}
	defer ln.Close()
	cfg := chat.Config{Mode: mode, Log: logger}
	if mode == chat.Secure {
		if cfg.Key, err = serverKey(*keyPath, stderr); err != nil {
			return err
		}
		if cfg.KeyLog, err = protocol.OpenKeyLog(stderr); err != nil {
			return err
		}
		defer cfg.KeyLog.Close()
	}
	srv, err := chat.NewServer(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "chat: %s server listening on %s\n", mode, ln.Addr())
	if mode == chat.Secure {
		fmt.Fprintf(stderr, "chat: server key fingerprint %s\n", protocol.Fingerprint(&cfg.Key.PublicKey))
	} else {
		fmt.Fprintln(stderr, "chat: plain mode: every message crosses the network as readable text")
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stderr, "chat: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, chat.ErrServerClosed) {
		return err
	}
	return nil
}

// listenError explains why the address could not be used.
func listenError(addr string, err error) error {
	err = fmt.Errorf("listen on %s: %w", addr, err)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		// 9001 is the relay's port; a free one beyond chatlab's own.
		return withHint(err, "another server is running there: stop it (Ctrl-C in its terminal), "+
			"or pick a free port, --listen 127.0.0.1:9100, and give the clients --connect 127.0.0.1:9100")
	case errors.Is(err, syscall.EACCES):
		return withHint(err, "ports below 1024 need root; use one like --listen 127.0.0.1:9000")
	}
	return withHint(err, "--listen wants HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:9000")
}

// serverKey loads the key, or makes and saves one on first start.
func serverKey(path string, stderr io.Writer) (*rsa.PrivateKey, error) {
	if path == "" {
		dir, err := protocol.ConfigDir()
		if err != nil {
			return nil, withHint(err, "or name a key file with --key FILE")
		}
		// Only the default place is made on demand; a --key path must be
		// in a directory that exists, so a typo makes no directories.
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, withHint(fmt.Errorf("config dir: %w", err), "or name a key file with --key FILE")
		}
		path = filepath.Join(dir, "server.key")
	}
	key, created, err := protocol.LoadOrCreateKey(path, rand.Reader)
	switch {
	case errors.Is(err, fs.ErrPermission):
		return nil, withHint(err, "check the file's permissions, or give another path with --key FILE")
	case errors.Is(err, fs.ErrNotExist):
		return nil, withHint(err, "the directory for --key must exist; a missing key file in it is created")
	case err != nil:
		return nil, withHint(err, "--key wants an RSA-2048 private key in PEM; point it at another file, or move this one away to have a new key made")
	}
	if created {
		fmt.Fprintf(stderr, "chat: made a new RSA-2048 key in %s\n", path)
	} else {
		fmt.Fprintf(stderr, "chat: using the key in %s\n", path)
	}
	return key, nil
}
