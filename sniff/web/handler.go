package web

import (
	"embed"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

//go:embed static
var static embed.FS

// csp lets the page run only its own script and style, and connect only
// back to this server: even a string that slipped through as markup
// could not run.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// ServeHTTP serves the page (/, /app.js, /style.css), its event stream
// (/events) and the lesson's Next button (POST /next).
func (v *View) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !v.hostAllowed(r.Host) {
		// A page elsewhere that made its name resolve to 127.0.0.1
		// (DNS rebinding) must not read the stream.
		http.Error(w, "web: unexpected Host header", http.StatusMisdirectedRequest)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	switch r.URL.Path {
	case "/events":
		v.serveEvents(w, r)
	case "/next":
		v.serveNext(w, r)
	case "/", "/index.html":
		v.serveFile(w, r, "index.html", "text/html; charset=utf-8")
	case "/app.js":
		v.serveFile(w, r, "app.js", "text/javascript; charset=utf-8")
	case "/style.css":
		v.serveFile(w, r, "style.css", "text/css; charset=utf-8")
	default:
		http.NotFound(w, r)
	}
}

func (v *View) serveFile(w http.ResponseWriter, r *http.Request, name, ctype string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "web: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b, err := fs.ReadFile(static, "static/"+name)
	if err != nil {
		http.Error(w, "web: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

// serveEvents streams messages to one page until it goes away.
func (v *View) serveEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "web: streaming unsupported", http.StatusInternalServerError)
		return
	}
	c := newClient()
	v.mu.Lock()
	if len(v.clients) >= maxClients {
		v.mu.Unlock()
		http.Error(w, "web: too many pages open ("+strconv.Itoa(maxClients)+")", http.StatusServiceUnavailable)
		return
	}
	first := v.snapshot()
	v.clients[c] = struct{}{}
	v.mu.Unlock()
	defer func() {
		v.mu.Lock()
		delete(v.clients, c)
		v.mu.Unlock()
	}()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	var buf []byte
	send := func(msgs [][]byte) error {
		buf = buf[:0]
		for _, m := range msgs {
			// encoding/json never writes a newline, so one data line
			// holds one message.
			buf = append(buf, "data: "...)
			buf = append(buf, m...)
			buf = append(buf, "\n\n"...)
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		fl.Flush()
		return nil
	}
	// A retry of a second after a lost connection, then the state.
	if _, err := w.Write([]byte("retry: 1000\n\n")); err != nil {
		return
	}
	if send(first) != nil {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.wake:
		}
		msgs, ids := c.take()
		if len(ids) > 0 {
			v.mu.Lock()
			for _, id := range ids {
				if m := v.statsMsg(id); m != nil {
					msgs = append(msgs, m)
				}
			}
			v.mu.Unlock()
		}
		if len(msgs) > 0 && send(msgs) != nil {
			return
		}
	}
}

// hostAllowed accepts a loopback name or address, or any host when the
// view is served beyond loopback on purpose.
func (v *View) hostAllowed(hostport string) bool {
	v.mu.Lock()
	public := v.public
	v.mu.Unlock()
	if public {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
