package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"chatlab/protocol/chat"
	"chatlab/sniff"
	"chatlab/sniff/event"
)

// chromium is the browser CI installs (Debian's package).
const chromium = "/usr/bin/chromium"

// browserDeadline bounds the whole browser test: starting Chromium under
// the race detector on two busy cores can take a while.
const browserDeadline = 2 * time.Minute

// The messages of the live chat. The secret must never appear on the
// page of a secure chat watched without a key.
const (
	plainHello  = "hello everyone"
	plainScript = "<script>document.title='pwned'</script><b>bold?</b>"
	secret      = "the secret plan"
)

// newBrowser starts headless Chromium at 1280×720, the projector's size,
// or skips (fails under CI) when it is not installed.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := exec.LookPath(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed under CI: %v", chromium, err)
		}
		t.Skipf("no %s: the page is not tested in a browser", chromium)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 720),
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserDeadline)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	return bctx
}

// poll waits until the JavaScript expression is true, or fails with what
// it was waiting for. The browser context's deadline bounds it.
func poll(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// TestBrowser opens the page in Chromium during a live plain chat and a
// live secure one on loopback, and checks what a person would look at.
func TestBrowser(t *testing.T) {
	v := New("chatlab: plain beside secure")
	srv := httptest.NewServer(v)
	// Cleanups run last first: the browser goes, then the server, which
	// waits for the page's stream to end.
	t.Cleanup(srv.Close)
	ctx := newBrowser(t)
	if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(1280, 720)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the stream", `document.getElementById("status").textContent.includes("live")`)

	// The real dissectors, fed as the lessons' relay feeds them.
	tap := sniff.NewTap(sniff.Config{Sink: v, Stats: true})
	liveChat(t, tap, chat.Plain, []string{plainHello, plainScript})
	liveChat(t, tap, chat.Secure, []string{secret, "meet at noon"})
	// A name no chatlab server accepts, as a hostile capture could carry.
	hostile := testConn(3, event.ProtoPlain)
	v.Emit(&event.Open{Conn: hostile})
	v.Emit(plainLine(hostile, event.ServerToClient, event.MsgChat, `<img src=x onerror="document.title='pwned'">`, "hi"))
	v.Emit(&event.Warning{Conn: hostile, Kind: event.WarnMalformed, Text: "<i>not</i> a chatlab line"})

	col := func(id int) string { return fmt.Sprintf(`document.querySelector('.column[data-conn="%d"]')`, id) }
	poll(t, ctx, "the plain message", col(1)+`?.textContent.includes("`+plainHello+`")`)
	poll(t, ctx, "bob's answer on the plain wire", col(1)+`?.textContent.includes("hi alice")`)
	poll(t, ctx, "the hostile name", col(3)+`?.textContent.includes("<img src=x")`)

	t.Run("markup stays text", func(t *testing.T) {
		shown := eval[bool](t, ctx, `[...document.querySelectorAll(".column .text")].some(e => e.textContent === `+
			fmt.Sprintf("%q", plainScript)+`)`)
		if !shown {
			t.Error("the <script> message is not shown as its text")
		}
		if n := eval[int](t, ctx, `document.querySelectorAll("main script, main img, main b, main i").length`); n != 0 {
			t.Errorf("%d elements made from network text", n)
		}
		if title := eval[string](t, ctx, `document.title`); title == "pwned" {
			t.Error("network text ran as script")
		}
	})

	t.Run("secure record", func(t *testing.T) {
		poll(t, ctx, "four records on the secure connection", col(2)+`?.querySelectorAll(".kind-record").length >= 4`)
		chips := eval[[]string](t, ctx, col(2)+`.querySelector(".kind-record").querySelectorAll(".chip")`+
			`.values().map(e => e.textContent.split(" ")[0]).toArray()`)
		for _, want := range []string{"type", "seq", "nonce", "ciphertext", "tag"} {
			if !slices.Contains(chips, want) {
				t.Errorf("record fields %q lack %q", chips, want)
			}
		}
		if text := eval[string](t, ctx, col(2)+`.textContent`); containsAny(text, secret, "meet at noon", "hi alice") {
			t.Errorf("plaintext on the secure column: %q", text)
		}
	})

	t.Run("bytes pane", func(t *testing.T) {
		sel := `.column[data-conn="2"] .kind-record`
		if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatal(err)
		}
		poll(t, ctx, "the record's bytes", `document.getElementById("hex").textContent.startsWith("0000  17 00 00 00")`)
		// The nonce's bytes in the nonce label's colour.
		same := eval[bool](t, ctx, `(() => {
			const label = [...document.querySelectorAll("#fields .chip")].find(e => e.textContent === "nonce");
			const bytes = document.querySelector("#hex span.b." + label.classList[1]);
			return !!bytes && getComputedStyle(label).backgroundColor === getComputedStyle(bytes).backgroundColor;
		})()`)
		if !same {
			t.Error("the nonce's bytes are not in the colour of its label")
		}
		if text := eval[string](t, ctx, `document.querySelector(".bytes").textContent`); containsAny(text, secret) {
			t.Error("the secret in the bytes pane")
		}
	})

	t.Run("pictures", func(t *testing.T) {
		poll(t, ctx, "a histogram per connection", `document.querySelectorAll(".chart svg path").length >= 2`)
		order := eval[[]string](t, ctx, `[...document.querySelectorAll(".chart")].map(e => e.className)`)
		if len(order) < 2 || order[0] != "chart plain" {
			t.Errorf("charts %q: plain first", order)
		}
		if !eval[bool](t, ctx, `document.querySelector(".chart.secure").textContent.includes(" bytes")`) {
			t.Error("the secure chart does not say its sample size")
		}
	})

	t.Run("large type", func(t *testing.T) {
		// Every element that shows text, at 1280×720.
		small := eval[[]string](t, ctx, `[...document.querySelectorAll("body *")].filter(e =>
			e.checkVisibility() && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) &&
			parseFloat(getComputedStyle(e).fontSize) < 18).map(e => e.tagName + "." + e.className)`)
		if len(small) > 0 {
			t.Errorf("text under 18px: %q", small)
		}
	})

	shoot(t, ctx, "screenshot.png", true)
	if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS("#theme"))); err != nil {
		t.Fatal(err)
	}
	shoot(t, ctx, "screenshot-dark.png", false)
}

// shoot saves what the browser shows into the test's artifact directory
// (go test -artifacts keeps it), or with -update into testdata when it
// is the README's picture.
func shoot(t *testing.T, ctx context.Context, name string, readme bool) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.ArtifactDir()
	if *update && readme {
		dir = "testdata"
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// TestBrowserLesson shows a lesson's text beside the live view and
// advances it from the page: the Next button, then the space bar.
func TestBrowserLesson(t *testing.T) {
	v := New("Lesson 1: Eavesdropping")
	srv := httptest.NewServer(v)
	t.Cleanup(srv.Close)
	ctx := newBrowser(t)
	v.ShowLesson("Lesson 1: Eavesdropping", []Section{
		{Body: "A chat on the wire, and **who can read it**."},
		{Heading: "What the wire carries", Body: "Run `sniff lo port 9000`:\n\n- names\n- messages <script>x()</script>\n\n```\n$ chat --plain\n```"},
		{Heading: "The end", Body: "That is all."},
	})
	v.ShowSection(0)
	if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(1280, 720)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the first section", `document.getElementById("lesson-body").textContent.includes("who can read it")`)
	waitNext := func(how string) {
		t.Helper()
		select {
		case <-v.Next():
		case <-ctx.Done():
			t.Fatalf("%s did not advance the lesson", how)
		}
	}
	if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS("#next"))); err != nil {
		t.Fatal(err)
	}
	waitNext("the Next button")
	v.ShowSection(1)
	poll(t, ctx, "the second section", `document.getElementById("lesson-where").textContent === "section 2 of 3"`)
	if !eval[bool](t, ctx, `document.querySelector("#lesson-body li:nth-child(2)").textContent === "messages <script>x()</script>"`) {
		t.Error("markup in a lesson's text is not shown as text")
	}
	// Off the button, so that the page's own key handler takes the space.
	eval[bool](t, ctx, `(document.activeElement.blur(), true)`)
	if _, err := chromedp.Run(ctx, chromedp.KeyEvent(" ")); err != nil {
		t.Fatal(err)
	}
	waitNext("the space bar")
	shoot(t, ctx, "lesson.png", false)
}
