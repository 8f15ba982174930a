package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, url string, header bool) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, nil)
	if header {
		req.Header.Set("X-Chatlab", "next")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestNext checks who may advance a lesson and that presses coalesce.
func TestNext(t *testing.T) {
	v := New("lesson")
	srv := httptest.NewServer(v)
	t.Cleanup(srv.Close)
	v.ShowLesson("Lesson 1", []Section{{Heading: "one"}, {Heading: "two"}})
	v.ShowSection(0)
	if code := post(t, srv.URL+"/next?from=0", false); code != http.StatusMethodNotAllowed {
		t.Errorf("without the header: %d", code)
	}
	if code := post(t, srv.URL+"/next?from=1", true); code != http.StatusNoContent {
		t.Errorf("a stale press: %d", code)
	}
	select {
	case <-v.Next():
		t.Fatal("a press on a section already left went through")
	default:
	}
	for range 3 {
		if code := post(t, srv.URL+"/next?from=0", true); code != http.StatusNoContent {
			t.Fatalf("a press: %d", code)
		}
	}
	select {
	case <-v.Next():
	default:
		t.Fatal("no press came through")
	}
	select {
	case <-v.Next():
		t.Fatal("three presses on one section advanced twice")
	default:
	}
}

func TestNextFromElsewhere(t *testing.T) {
	v := New("lesson")
	req := httptest.NewRequest(http.MethodPost, "/next?from=-1", nil)
	req.Header.Set("X-Chatlab", "next")
	req.Host = "127.0.0.1:8080"
	req.RemoteAddr = "192.0.2.7:50000"
	w := httptest.NewRecorder()
	v.ServeHTTP(w, req)
	if w.Code != http.StatusForbidden {
		t.Errorf("a press from another machine: %d", w.Code)
	}
}

// TestHost refuses a Host that is not this machine's, as a page that
// rebound its name to 127.0.0.1 would send, unless served beyond
// loopback on purpose.
func TestHost(t *testing.T) {
	v := New("test")
	for host, want := range map[string]int{
		"127.0.0.1:8080": 200, "localhost:8080": 200, "[::1]:8080": 200, "LOCALHOST": 200,
		"evil.example:8080": http.StatusMisdirectedRequest, "10.0.0.1:8080": http.StatusMisdirectedRequest,
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Host = host
		w := httptest.NewRecorder()
		v.ServeHTTP(w, req)
		if w.Code != want {
			t.Errorf("Host %s: %d, want %d", host, w.Code, want)
		}
		if want == 200 && !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("no content security policy")
		}
	}
}

func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var warn strings.Builder
	url, err := Serve(ctx, "127.0.0.1:0", New("test"), &warn)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") || warn.Len() != 0 {
		t.Fatalf("url %q, warning %q", url, warn.String())
	}
	for _, path := range []string{"", "app.js", "style.css"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("/%s: %d", path, resp.StatusCode)
		}
	}
	cancel()
	// The server closes: wait on that, bounded by the test's own timeout.
	for {
		if _, err := http.Get(url); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestListenAddresses(t *testing.T) {
	for host, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "127.9.9.9": true,
		"": false, "0.0.0.0": false, "::": false, "192.168.1.5": false} {
		if got := loopbackHost(host); got != want {
			t.Errorf("loopbackHost(%q) = %v", host, got)
		}
	}
	if _, err := Serve(context.Background(), "no-port", New("x"), nil); err == nil {
		t.Error("an address without a port was accepted")
	}
}
