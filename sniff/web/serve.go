package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// DefaultAddr is where the page is served when no address is given:
// this machine only.
const DefaultAddr = "127.0.0.1:8080"

// readHeaderTimeout bounds how long a request's headers may take; the
// event stream itself runs as long as the page is open.
const readHeaderTimeout = 10 * time.Second

// Serve serves v on addr (DefaultAddr when empty) until ctx ends, and
// returns the page's URL once it listens. An address that is not
// loopback ("0.0.0.0:8080", a LAN address) is served as asked, with a
// line on warn saying that everyone on that network can watch.
func Serve(ctx context.Context, addr string, v *View, warn io.Writer) (string, error) {
	if addr == "" {
		addr = DefaultAddr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("web: address %q: %w", addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("web: %w", err)
	}
	bound := ln.Addr().(*net.TCPAddr).AddrPort()
	if !loopbackHost(host) {
		v.mu.Lock()
		v.public = true
		v.mu.Unlock()
		if warn != nil {
			fmt.Fprintf(warn, "web: warning: serving on %s, beyond this machine: everyone on that network can watch this page\n", addr)
		}
	}
	srv := &http.Server{Handler: v, ReadHeaderTimeout: readHeaderTimeout,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && warn != nil {
			fmt.Fprintf(warn, "web: %v\n", err)
		}
	}()
	return pageURL(host, bound), nil
}

// loopbackHost says whether a listen host stays on this machine. An
// empty host listens on every interface.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// pageURL is the address to open: the host as given, so that a name
// still works, with the port actually bound (for ":0").
func pageURL(host string, bound netip.AddrPort) string {
	switch {
	case host == "" || host == "0.0.0.0" || host == "::":
		host = "127.0.0.1"
	case bound.Addr().Is6() && !bound.Addr().Is4In6() && host != "localhost":
		host = "[" + host + "]"
	}
	return fmt.Sprintf("http://%s:%d/", host, bound.Port())
}
