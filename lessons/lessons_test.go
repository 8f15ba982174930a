package lessons

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"chatlab/lessons/attack"
	"chatlab/protocol/weak"
	"chatlab/sniff/render"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestMain lets lesson 7 start this test binary as its child process.
func TestMain(m *testing.M) {
	if handled, err := Internal(os.Args[1:], os.Stdout); handled {
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testEnv is an Env that watches through the relay tap (no privileges,
// and tests may run side by side) and prints into a buffer.
func testEnv(t *testing.T) (*Env, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(&out, false, ThemeAny, WatchTap, t.TempDir(), exe), &out
}

func runStep(t *testing.T, step Step) string {
	t.Helper()
	e, out := testEnv(t)
	if err := step(context.Background(), e); err != nil {
		t.Fatalf("%v\noutput:\n%s", err, out)
	}
	return out.String()
}

func TestList(t *testing.T) {
	var out bytes.Buffer
	List(&out)
	golden := filepath.Join("testdata", "list.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("List printed\n%s\nwant\n%s", out.String(), want)
	}
	if n := len(All()); n < 8 {
		t.Errorf("%d lessons, want at least 8", n)
	}
}

// TestTexts checks every lesson's text: numbered in order, every step it
// asks for exists and every step is asked for, and it ends with an
// exercise.
func TestTexts(t *testing.T) {
	for i, l := range All() {
		if l.Number != i+1 {
			t.Errorf("lesson %d is number %d", i+1, l.Number)
		}
		if !strings.HasPrefix(l.Title, "Lesson ") {
			t.Errorf("lesson %d title %q", l.Number, l.Title)
		}
		secs := l.Sections()
		if last := secs[len(secs)-1]; last.Heading != "Exercise" || !strings.Contains(last.Body, "bin/") {
			t.Errorf("lesson %d ends with %q, want an Exercise with commands", l.Number, last.Heading)
		}
		asked := map[string]bool{}
		for _, s := range secs {
			for _, name := range s.Steps {
				asked[name] = true
				if l.Step(name) == nil {
					t.Errorf("lesson %d asks for a missing step %q", l.Number, name)
				}
			}
		}
		for name := range l.steps {
			if !asked[name] {
				t.Errorf("lesson %d never runs its step %q", l.Number, name)
			}
		}
	}
}

func TestLesson1EavesdropperReadsPlainChat(t *testing.T) {
	out := runStep(t, stepPlainChat)
	for _, m := range demoMessages() {
		if !strings.Contains(out, `"`+m+`"`) {
			t.Errorf("the side-by-side view does not show %q as seen on the wire", m)
		}
	}
}

func TestLesson2SecureChatUnreadable(t *testing.T) {
	out := runStep(t, stepSecureChat)
	for _, want := range []string{"hello", "key exchange", "not one word"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, `"`+demoMessages()[1]+`"`) {
		t.Errorf("a secure message appears in the clear")
	}
}

func TestLesson2SecureEntropyHigher(t *testing.T) { runStep(t, stepCompare) }

func TestLesson3FixedIVRepeatsCiphertext(t *testing.T) {
	out := runStep(t, stepFixedIV)
	if !strings.Contains(out, weak.Warning) {
		t.Error("the weak suite was used without its warning")
	}
}

func TestLesson3SnifferRecoversOriginalProgram(t *testing.T) {
	out := runStep(t, stepOriginal)
	if !strings.Contains(out, "IV reuse") || !strings.Contains(out, originalSecret) {
		t.Errorf("the sniffer's recovery is missing from:\n%s", out)
	}
}

func TestLesson3FreshNonceDiffers(t *testing.T) { runStep(t, stepFreshNonce) }

func TestLesson4CBCFlipDeliversAlteredMessage(t *testing.T) {
	e, out := testEnv(t)
	edit, err := attack.ParseEdit(payEdit)
	if err != nil {
		t.Fatal(err)
	}
	conv, err := attackedChat(context.Background(), e, weak.CBCNoMAC(), &attack.Config{Flips: []attack.Flip{edit}}, payMessage)
	if err != nil {
		t.Fatal(err)
	}
	if len(conv.received) != 1 || conv.received[0] != payEdited {
		t.Fatalf("bob received %q, want %q\n%s", conv.received, payEdited, out)
	}
}

func TestLesson4GCMRejectsFlip(t *testing.T) {
	e, _ := testEnv(t)
	edit, _ := attack.ParseEdit(payEdit)
	o, err := tamperUnderGCM(context.Background(), e, &attack.Config{Flips: []attack.Flip{edit}})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.check(nil); err != nil {
		t.Fatal(err)
	}
}

func TestLesson5KeySwapReadsEverything(t *testing.T)   { runStep(t, stepMITM) }
func TestLesson5PinningStopsKeySwap(t *testing.T)      { runStep(t, stepPinning) }
func TestLesson5TrustOnFirstUseLimits(t *testing.T)    { runStep(t, stepTOFU) }
func TestLesson6ReplayAcceptedWithoutSeq(t *testing.T) { runStep(t, stepReplayCBC) }

func TestLesson6ReplayRejectedBySequenceNumbers(t *testing.T) {
	e, _ := testEnv(t)
	o, err := tamperUnderGCM(context.Background(), e, &attack.Config{Replays: []attack.Replay{{Record: 2, After: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.check([]string{"alice: " + payMessage}); err != nil {
		t.Fatal(err)
	}
}

// TestLesson7SameBytesWithoutAESNI runs the measurement, whose child is
// this test binary with GODEBUG=cpu.aes=off. It asserts two positive
// speeds and identical GCM output, never a speed ratio.
func TestLesson7SameBytesWithoutAESNI(t *testing.T) {
	out := runStep(t, stepMeasure)
	if !strings.Contains(out, "MB/s") || !strings.Contains(out, "same bytes") {
		t.Errorf("output:\n%s", out)
	}
}

func TestLesson8StolenKeyDecryptsRecording(t *testing.T) { runStep(t, stepRecordAndSteal) }

// TestEveryLessonAuto runs each lesson as "lesson N --auto" does, in
// colour, at COLUMNS=100, and checks that each live block comes where its
// marker stands, that every line fits 100 columns and that no colour is
// one a projector washes out.
func TestEveryLessonAuto(t *testing.T) {
	t.Setenv("COLUMNS", "100")
	for _, l := range All() {
		t.Run(l.Slug, func(t *testing.T) {
			out := &watchWriter{}
			sniffed := &watchWriter{}
			err := Run(context.Background(), l, Options{Auto: true, Out: out, Color: true, Watch: WatchTap, Dir: t.TempDir(), sniffCopy: sniffed})
			raw := out.String()
			text := stripSGR(raw)
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			if !strings.Contains(text, "Exercise") {
				t.Error("the exercise was not shown")
			}
			checkRevealsInPlace(t, l, text)
			checkWidth(t, l, text, stripSGR(sniffed.String()))
			checkProjectorColours(t, l, raw, stripSGR(sniffed.String()))
			checkLegendOnce(t, l, text)
		})
	}
}

// maxColumns is the widest line a lesson may print: a projector, or a
// terminal beside another.
const maxColumns = 100

// sgr matches a colour escape sequence.
var sgr = regexp.MustCompile("\x1b\\[([0-9;]*)m")

func stripSGR(s string) string { return sgr.ReplaceAllString(s, "") }

// sniffLines tells the sniffer's lines in a lesson's output: those that
// are, whole or as a wrapped part, in what the sniffer printed.
type sniffLines string

func (s sniffLines) has(line string) bool {
	line = strings.TrimSpace(line)
	return len(line) > 0 && strings.Contains(string(s), line)
}

// checkWidth fails on a line wider than maxColumns, the lesson's own or
// the sniffer's, saying which.
func checkWidth(t *testing.T, l Lesson, text, sniffed string) {
	t.Helper()
	fromSniff := sniffLines(sniffed)
	for i, line := range strings.Split(text, "\n") {
		n := utf8.RuneCountInString(line)
		if n <= maxColumns {
			continue
		}
		who := ""
		if fromSniff.has(line) {
			who = ", from the sniffer,"
		}
		t.Errorf("lesson %d line %d%s is %d columns wide: %q", l.Number, i+1, who, n, line)
	}
}

// washedOut names the SGR parameters that a projector or one of the two
// backgrounds makes hard to read: faint (2), and with no theme chosen,
// yellow (33), cyan (36), blue (34), white (37) and black (30).
var washedOut = map[string]string{"2": "faint", "33": "yellow", "36": "cyan", "34": "blue", "37": "white", "30": "black"}

// checkProjectorColours fails on a washed-out colour in the lesson's
// output, the lesson's own or the sniffer's, saying which.
func checkProjectorColours(t *testing.T, l Lesson, raw, sniffed string) {
	t.Helper()
	fromSniff := sniffLines(sniffed)
	for i, line := range strings.Split(raw, "\n") {
		for _, m := range sgr.FindAllStringSubmatch(line, -1) {
			for _, param := range strings.Split(m[1], ";") {
				what, bad := washedOut[param]
				if !bad {
					continue
				}
				plain := stripSGR(line)
				who := ""
				if fromSniff.has(plain) {
					who = ", from the sniffer,"
				}
				t.Errorf("lesson %d line %d%s is %s: %q", l.Number, i+1, who, what, plain)
			}
		}
	}
}

// Lesson 2's one-screen budget: the handshake and the table on a
// 50-row screen, and a hex dump only where asked for.
const (
	screenRows  = 50
	maxHexLines = 8
)

// hexDumpLine matches a line of a hex dump: an offset, then bytes.
var hexDumpLine = regexp.MustCompile(`^\s*[0-9a-f]{4}  ([0-9a-f]{2} )`)

// TestLesson2FitsOneScreen: from the handshake's first line to the last
// row of the table is at most screenRows lines, and the whole lesson has
// at most maxHexLines lines of hex dump, the sniffer's included; the
// lesson's own lines alone print no hex at all.
func TestLesson2FitsOneScreen(t *testing.T) {
	l, err := Get(2)
	if err != nil {
		t.Fatal(err)
	}
	out, sniffed := &watchWriter{}, &watchWriter{}
	if err := Run(context.Background(), l, Options{Auto: true, Out: out, Watch: WatchTap, Dir: t.TempDir(), sniffCopy: sniffed}); err != nil {
		t.Fatal(err)
	}
	fromSniff := sniffLines(sniffed.String())
	lines := strings.Split(out.String(), "\n")
	start, end := -1, -1
	for i, line := range lines {
		if start < 0 && strings.HasPrefix(line, "▶ Live: the same chat in secure mode") {
			start = i + 1
		}
		if start >= 0 && end < 0 && strings.HasPrefix(line, "  "+demoMessages()[2]) {
			end = i
		}
	}
	for start >= 0 && start < len(lines) && !strings.Contains(strings.ToLower(lines[start]), "hello") {
		start++
	}
	if start < 0 || end < start {
		t.Fatalf("no handshake (line %d) before the table's last row (line %d):\n%s", start, end, out.String())
	}
	own, all := 0, end-start+1
	for _, line := range lines[start : end+1] {
		if !fromSniff.has(line) {
			own++
		}
	}
	hex, ownHex := 0, 0
	for _, line := range lines {
		if hexDumpLine.MatchString(line) {
			hex++
			if !fromSniff.has(line) {
				ownHex++
			}
		}
	}
	if own > screenRows || ownHex > 0 {
		t.Errorf("the lesson's own lines: %d from the handshake to the table (budget %d), %d of hex", own, screenRows, ownHex)
	}
	t.Logf("%d lines from the handshake to the table (%d the sniffer's), %d lines of hex dump", all, all-own, hex)
	if all > screenRows {
		t.Errorf("%d lines from the handshake to the table, %d of them the sniffer's; budget %d", all, all-own, screenRows)
	}
	if hex > maxHexLines {
		t.Errorf("%d lines of hex dump in the lesson, all the sniffer's; budget %d", hex, maxHexLines)
	}
}

// checkLegendOnce: the legend comes once, before the first verdict.
func checkLegendOnce(t *testing.T, l Lesson, text string) {
	t.Helper()
	firstVerdict := -1
	for i, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "✔ ") || strings.HasPrefix(line, "✘ ") {
			firstVerdict = i
			break
		}
	}
	if firstVerdict < 0 {
		return
	}
	if n := strings.Count(text, Legend); n != 1 {
		t.Errorf("lesson %d: the legend appears %d times, want once", l.Number, n)
	}
	lines := strings.Split(text, "\n")
	if firstVerdict == 0 || lines[firstVerdict-1] != Legend {
		t.Errorf("lesson %d: the line before the first verdict is not the legend", l.Number)
	}
}

// checkRevealsInPlace asserts that each live block of l's output comes
// where its marker stands in the Markdown: after the text before the
// marker, and before the paragraph (or heading) that follows it.
func checkRevealsInPlace(t *testing.T, l Lesson, out string) {
	t.Helper()
	p := newPalette(false, ThemeAny)
	lines := strings.Split(out, "\n")
	// find returns the index of the first line from i on that reads s.
	find := func(i int, s string) int {
		for ; i < len(lines); i++ {
			if strings.TrimRight(lines[i], " ") == s {
				return i
			}
		}
		return -1
	}
	// liveFrom returns the index of the first banner of a live block from i.
	liveFrom := func(i int) int {
		for ; i < len(lines); i++ {
			if strings.HasPrefix(lines[i], "▶ ") {
				return i
			}
		}
		return -1
	}
	first := func(md string) string { f, _, _ := strings.Cut(p.render(md), "\n"); return f }
	last := func(md string) string {
		r := strings.Split(p.render(md), "\n")
		return r[len(r)-1]
	}
	secs := l.Sections()
	cursor := 0
	for si, s := range secs {
		for j, part := range s.Parts {
			if part.Step == "" {
				continue
			}
			before := s.Heading
			if j > 0 && s.Parts[j-1].Step == "" {
				before = last(s.Parts[j-1].Text)
			}
			after := ""
			if j+1 < len(s.Parts) && s.Parts[j+1].Step == "" {
				after = first(s.Parts[j+1].Text)
			} else if si+1 < len(secs) {
				after = secs[si+1].Heading
			}
			b := find(cursor, before)
			if b < 0 {
				t.Errorf("lesson %d: the text before step %q (%q) is not in the output", l.Number, part.Step, before)
				return
			}
			live := liveFrom(cursor)
			if live < b {
				t.Errorf("lesson %d: step %q's live block (line %d) came before the text that leads to it (line %d)", l.Number, part.Step, live+1, b+1)
				return
			}
			a := find(b+1, after)
			if a < 0 {
				t.Errorf("lesson %d: the paragraph after step %q (%q) is not in the output after it", l.Number, part.Step, after)
				return
			}
			if live > a {
				t.Errorf("lesson %d: step %q's live block (line %d) came after the paragraph that follows its marker (%q, line %d)",
					l.Number, part.Step, live+1, after, a+1)
				return
			}
			verdict := false
			for _, line := range lines[live:a] {
				verdict = verdict || strings.HasPrefix(line, "✔ ") || strings.HasPrefix(line, "✘ ")
			}
			if !verdict {
				t.Errorf("lesson %d: step %q gave no verdict (✔ or ✘) before %q", l.Number, part.Step, after)
			}
			cursor = a
		}
	}
}

// TestPausesEndAtEOF: without --auto, a closed stdin lets the lesson run
// to the end instead of waiting forever; "q" quits early.
func TestPausesEndAtEOF(t *testing.T) {
	l, err := Get(1)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Run(context.Background(), l, Options{In: strings.NewReader(""), Out: &out, Watch: WatchTap}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Exercise") {
		t.Error("the lesson stopped before its end")
	}
	out.Reset()
	if err := Run(context.Background(), l, Options{In: strings.NewReader("q\n"), Out: &out, Watch: WatchTap}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "Exercise") {
		t.Error("q did not quit")
	}
}

// TestPauseEndsWhenStopped: a lesson waiting for Enter on an input that
// never comes stops when its context ends, and says so.
func TestPauseEndsWhenStopped(t *testing.T) {
	l, err := Get(1)
	if err != nil {
		t.Fatal(err)
	}
	r, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	paused := make(chan struct{})
	out := &watchWriter{want: "Enter: next", seen: paused}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, l, Options{In: r, Out: out, Watch: WatchTap, Dir: t.TempDir()}) }()
	<-paused
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
}

// TestEndAtEOFQuits: on a terminal, Ctrl-D (the end of input) at a pause
// ends the lesson.
func TestEndAtEOFQuits(t *testing.T) {
	l, err := Get(1)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Run(context.Background(), l, Options{In: strings.NewReader(""), EndAtEOF: true, Out: &out, Watch: WatchTap, Dir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "Exercise") {
		t.Error("the end of input did not end the lesson")
	}
}

// watchWriter closes seen the first time want has been written to it.
type watchWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func (w *watchWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	if w.seen != nil && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
		w.seen = nil
	}
	return len(b), nil
}

// TestAESOffBy reads GODEBUG as Go does for AES-NI.
func TestAESOffBy(t *testing.T) {
	for godebug, want := range map[string]bool{
		"":                         false,
		"cpu.aes=off":              true,
		"http2debug=1,cpu.aes=off": true,
		"cpu.aes=off,cpu.aes=on":   false,
		"cpu.all=off":              true,
		"cpu.avx=off":              false,
	} {
		if got := aesOffBy(godebug); got != want {
			t.Errorf("aesOffBy(%q) = %v, want %v", godebug, got, want)
		}
	}
}

// TestRenderForTheTerminal: without colour the Markdown marks go and the
// words stay; code blocks are left as written.
func TestRenderForTheTerminal(t *testing.T) {
	p := newPalette(false, ThemeAny)
	in := "In **plain\nmode** the *key* is `k`.\n\n    bin/chat **x** `y`\n"
	want := "In plain\nmode the key is k.\n\n    bin/chat **x** `y`\n"
	if got := p.render(in); got != want {
		t.Errorf("render gave\n%q\nwant\n%q", got, want)
	}
	for _, l := range All() {
		for _, s := range l.Sections() {
			for _, line := range strings.Split(p.render(s.Body), "\n") {
				if strings.HasPrefix(line, codeIndent) {
					continue
				}
				if strings.Contains(line, "`") || strings.Contains(line, "**") {
					t.Errorf("lesson %d: Markdown left in %q", l.Number, line)
				}
			}
		}
	}
}

// TestLessonHexDumps: the full dumps are there for those who ask for them
// (lesson N --hex), and only then.
func TestLessonHexDumps(t *testing.T) {
	l, err := Get(2)
	if err != nil {
		t.Fatal(err)
	}
	out := &watchWriter{}
	if err := Run(context.Background(), l, Options{Auto: true, Out: out, Watch: WatchTap, Dir: t.TempDir(), Dumps: render.DumpHexASCII}); err != nil {
		t.Fatal(err)
	}
	hex := 0
	for _, line := range strings.Split(out.String(), "\n") {
		if hexDumpLine.MatchString(line) {
			hex++
		}
	}
	if hex <= maxHexLines {
		t.Errorf("with the dumps asked for, %d hex dump lines", hex)
	}
}
