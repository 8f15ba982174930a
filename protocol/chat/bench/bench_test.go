package bench

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "server-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := protocol.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// small is a run that finishes in well under a second, even with -race.
func small(t *testing.T, mode chat.Mode) Config {
	return Config{Mode: mode, Key: testKey(t), Clients: 3, Messages: 300, Size: 100, Handshakes: 3, Idle: 5}
}

func TestRunBothModes(t *testing.T) {
	var results []Result
	for _, mode := range []chat.Mode{chat.Plain, chat.Secure} {
		r, err := Run(context.Background(), small(t, mode))
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if r.Mode != mode.String() || r.Clients != 3 || r.Messages != 300 || r.Size != 100 || r.IdleClients != 5 {
			t.Errorf("%s: result does not echo the config: %+v", mode, r)
		}
		if r.Delivered != 2*300 {
			t.Errorf("%s: delivered %d, want %d (2 receivers × 300)", mode, r.Delivered, 2*300)
		}
		if r.MsgsPerSec <= 0 || r.MBPerSec <= 0 || r.P50ms <= 0 || r.P99ms < r.P50ms || r.HandshakeP50ms <= 0 {
			t.Errorf("%s: implausible result %+v", mode, r)
		}
		results = append(results, r)
	}

	var out bytes.Buffer
	if err := WriteJSON(&out, results...); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("JSON output has %d lines, want one per mode:\n%s", len(lines), out.String())
	}
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		for _, k := range []string{"mode", "clients", "messages", "size", "msgs_per_sec", "mb_per_sec",
			"p50_ms", "p99_ms", "handshake_p50_ms", "bytes_per_idle_client"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line %d has no %q: %s", i+1, k, line)
			}
		}
	}

	out.Reset()
	if err := WriteTable(&out, results...); err != nil {
		t.Fatal(err)
	}
	table := out.String()
	for _, want := range []string{"msgs/s", "bytes/idle", "plain", "secure", "secure/plain (chatlab): ", "join p50, secure: "} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

// TestReferenceHub runs the reference hub in both modes, with the same
// lean clients, and the table gives the chatlab/reference ratios.
func TestReferenceHub(t *testing.T) {
	var results []Result
	for _, mode := range []chat.Mode{chat.Plain, chat.Secure} {
		for _, target := range []string{TargetChatlab, TargetRef} {
			cfg := small(t, mode)
			cfg.Target, cfg.Idle = target, -1
			r, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("%s %s: %v", target, mode, err)
			}
			if r.Target != target || r.Delivered != 2*300 || r.MsgsPerSec <= 0 || r.HandshakeP50ms <= 0 {
				t.Errorf("%s %s: implausible result %+v", target, mode, r)
			}
			results = append(results, r)
		}
	}
	var out bytes.Buffer
	if err := WriteTable(&out, results...); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"reference", "TLS 1.3", "TCP", "chatlab/reference, plain: ", "chatlab/reference, secure: ", "× a TLS 1.3 join"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if len([]rune(line)) > 100 {
			t.Errorf("line over 100 columns: %q", line)
		}
	}
}

// TestTimedRun sends for a duration instead of a count: every receiver
// gets all that was sent, whatever the count came to.
func TestTimedRun(t *testing.T) {
	cfg := small(t, chat.Plain)
	cfg.Messages, cfg.Duration, cfg.Handshakes, cfg.Idle = 0, 100*time.Millisecond, -1, -1
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Messages < 1 || r.Delivered != int64(2*r.Messages) {
		t.Fatalf("timed run: %d messages, %d delivered", r.Messages, r.Delivered)
	}
}

func TestConfigRefused(t *testing.T) {
	for _, cfg := range []Config{
		{Clients: 1},
		{Messages: -1},
		{Target: "nginx"},
		{Size: MinSize - 1},
		{Size: protocol.MaxMessage + 1},
	} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("%+v: accepted", cfg)
		}
	}
}

func TestProgressOnlyWhenAsked(t *testing.T) {
	var buf syncBuffer
	cfg := small(t, chat.Plain)
	cfg.Progress = &buf
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	// The line is cleared at the end, whether or not a tick drew it.
	if !strings.HasSuffix(buf.String(), "\r\033[K") {
		t.Errorf("progress does not end with a cleared line: %q", buf.String())
	}
}

// TestCancelledRunStops cancels a run while messages flow.
func TestCancelledRunStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := small(t, chat.Plain)
	cfg.Messages = 1 << 30 // far more than can be sent before the cancel
	cfg.Handshakes, cfg.Idle = -1, -1
	cfg.Progress = &syncBuffer{onWrite: func(s string) {
		if strings.Contains(s, "sending") {
			cancel()
		}
	}}
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, cfg)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a cancelled run reported success")
		}
	case <-time.After(waitTimeout):
		t.Fatal("a cancelled run did not stop")
	}
}

func TestStampRoundTrip(t *testing.T) {
	b := make([]byte, MinSize+3)
	stamp(b, 0x0123456789abcdef, 42*time.Millisecond)
	seq, at, err := unstamp(b)
	if err != nil || seq != 0x0123456789abcdef || at != 42*time.Millisecond {
		t.Fatalf("unstamp = %x, %v, %v", seq, at, err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("z", MinSize)} {
		if _, _, err := unstamp([]byte(bad)); err == nil {
			t.Errorf("unstamp(%q) accepted", bad)
		}
	}
}

// syncBuffer is a bytes.Buffer that the progress goroutine may write
// while the test reads it.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	onWrite func(string)
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	if b.onWrite != nil {
		b.onWrite(string(p))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMedian(t *testing.T) {
	runs := []Result{
		{Mode: "secure", Clients: 2, Messages: 10, Size: 64, MsgsPerSec: 100, P50ms: 3, HandshakeP50ms: 1.1, BytesPerIdleClient: 20},
		{Mode: "secure", Clients: 2, Messages: 10, Size: 64, MsgsPerSec: 300, P50ms: 1, HandshakeP50ms: 9.0, BytesPerIdleClient: 30},
		{Mode: "secure", Clients: 2, Messages: 10, Size: 64, MsgsPerSec: 200, P50ms: 2, HandshakeP50ms: 1.3, BytesPerIdleClient: 10},
	}
	m, err := Median(runs)
	if err != nil {
		t.Fatal(err)
	}
	if m.MsgsPerSec != 200 || m.P50ms != 2 || m.HandshakeP50ms != 1.3 || m.BytesPerIdleClient != 20 || m.Rounds != 3 {
		t.Fatalf("median %+v", m)
	}
	if !slices.Equal(m.RoundsMsgsPerSec, []float64{100, 300, 200}) || m.SpreadPct != 50 {
		t.Fatalf("rounds %v, spread %v%%", m.RoundsMsgsPerSec, m.SpreadPct)
	}
	if m, _ := Median(runs[:2]); m.MsgsPerSec != 200 || m.P50ms != 2 {
		t.Fatalf("even median %+v", m)
	}
	if _, err := Median(append(runs, Result{Mode: "plain", Clients: 2, Messages: 10, Size: 64})); err == nil {
		t.Fatal("combined runs of two modes")
	}
	if _, err := Median(nil); err == nil {
		t.Fatal("combined no runs")
	}
}

// TestLeanClientsAllocateNothing backs the claim that a run's clients
// allocate nothing per message: the line client, and chatlab's secure
// client reading records in place.
func TestLeanClientsAllocateNothing(t *testing.T) {
	const lines = 600
	text := strings.Repeat("m", 1000)
	read := func(name string, c client, stream []byte, w net.Conn) {
		go func() { w.Write(stream) }()
		if allocs := testing.AllocsPerRun(lines-1, func() {
			if _, err := c.ReadRawBytes(); err != nil {
				t.Fatal(err)
			}
		}); allocs != 0 {
			t.Errorf("%s: %v allocations per message read", name, allocs)
		}
	}

	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	var stream []byte
	for range lines {
		stream = append(stream, "sender: "+text+"\n"...)
	}
	read("line client", newLineClient(a), stream, b)

	key := testKey(t)
	ca, cb := net.Pipe()
	defer ca.Close()
	defer cb.Close()
	srvc := make(chan *protocol.Conn, 1)
	go func() {
		s, err := protocol.Server(cb, protocol.ServerConfig{Key: key})
		if err != nil {
			t.Error(err)
		}
		srvc <- s
	}()
	conn, _, err := protocol.Client(ca, protocol.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	srv := <-srvc
	if srv == nil {
		t.FailNow()
	}
	msgs := make([]string, lines)
	for i := range msgs {
		msgs[i] = "sender: " + text
	}
	sealed, err := srv.AppendMessages(nil, msgs...)
	if err != nil {
		t.Fatal(err)
	}
	read("secure client", recordClient{conn}, sealed, cb)
}

// TestTurns: RunPair's turns last cfg.Duration together, each at least
// minTurn, and longer with more receivers.
func TestTurns(t *testing.T) {
	for _, c := range []struct {
		clients  int
		duration time.Duration
		n        int
		turn     time.Duration
	}{
		{2, 2 * time.Second, 20, 100 * time.Millisecond},
		{41, 2 * time.Second, 20, 100 * time.Millisecond},
		{81, 2 * time.Second, 10, 200 * time.Millisecond},
		{200, 2 * time.Second, 4, 500 * time.Millisecond},
		{1000, 2 * time.Second, 1, 2 * time.Second},
		{2, 350 * time.Millisecond, 3, 350 * time.Millisecond / 3},
		{2, 50 * time.Millisecond, 1, 50 * time.Millisecond},
	} {
		n, turn := turns(Config{Clients: c.clients, Duration: c.duration})
		if n != c.n || turn != c.turn {
			t.Errorf("%d clients for %v: %d turns of %v, want %d of %v", c.clients, c.duration, n, turn, c.n, c.turn)
		}
	}
}

// TestTakeTurns: two sides alternate turn by turn; one side, or a
// counted run, sends once.
func TestTakeTurns(t *testing.T) {
	type call struct {
		side int
		d    time.Duration
	}
	record := func(cfg Config, n int) []call {
		var calls []call
		if err := takeTurns(cfg, n, func(side int, d time.Duration) error {
			calls = append(calls, call{side, d})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return calls
	}
	timed := Config{Clients: 2, Duration: 300 * time.Millisecond}
	const turn = 100 * time.Millisecond
	if got, want := record(timed, 2), []call{{0, turn}, {1, turn}, {0, turn}, {1, turn}, {0, turn}, {1, turn}}; !slices.Equal(got, want) {
		t.Errorf("two sides: %v, want %v", got, want)
	}
	if got, want := record(timed, 1), []call{{0, 300 * time.Millisecond}}; !slices.Equal(got, want) {
		t.Errorf("one side: %v, want %v", got, want)
	}
	counted := Config{Clients: 2, Messages: 10}
	if got, want := record(counted, 2), []call{{0, 0}, {1, 0}}; !slices.Equal(got, want) {
		t.Errorf("a counted run: %v, want %v", got, want)
	}
	stop := errors.New("stop")
	calls := 0
	if err := takeTurns(timed, 2, func(int, time.Duration) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("a failed turn: %v after %d calls; want the error at once", err, calls)
	}
}

// TestRunPair runs chatlab and the reference hub in turns: each sends
// for the whole duration, and every message reaches every receiver.
func TestRunPair(t *testing.T) {
	cfg := small(t, chat.Secure)
	cfg.Messages, cfg.Duration, cfg.Idle = 0, 250*time.Millisecond, -1
	c, r, err := RunPair(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range []Result{c, r} {
		if res.Messages < 1 || res.Delivered != int64(2*res.Messages) || res.Seconds < cfg.Duration.Seconds() || res.HandshakeP50ms <= 0 || res.P50ms <= 0 {
			t.Errorf("%s: implausible result %+v", res.Target, res)
		}
	}
	if c.Target != TargetChatlab || r.Target != TargetRef || c.RSADecryptP50ms <= 0 {
		t.Errorf("results %s and %s, decryption %v ms", c.Target, r.Target, c.RSADecryptP50ms)
	}
	var out bytes.Buffer
	c.RoundsMsgsPerSec, r.RoundsMsgsPerSec = []float64{90, 110}, []float64{100, 100}
	if err := WriteTable(&out, c, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "messages per second (rounds 0.90–1.10×)") {
		t.Errorf("the table does not give the rounds' ratios:\n%s", out.String())
	}
}
