package original

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"chatlab/protocol/legacy"
	"chatlab/sniff"
)

// runTimeout bounds a whole conversation. Each step waits on progress
// (a socket listening, bytes on the wire, a line printed), which takes
// milliseconds; the server's RSA key takes under a second. This only
// stops a run that hangs.
const runTimeout = 60 * time.Second

// pollEvery is how often a step looks for the progress it waits for.
const pollEvery = 5 * time.Millisecond

// Config says which programs to run and how to watch them.
type Config struct {
	Programs Programs
	// Tcpdump, if set, is the path of tcpdump, which then records the
	// conversation too, for a cross-check of chatlab's capture.
	Tcpdump string
}

// Capture is what one run of a script left on the wire.
type Capture struct {
	Script Script
	// Pcap is chatlab's own capture (sniff.OpenLive and sniff.Run with
	// Dump), of everything on the namespace's loopback.
	Pcap []byte
	// Tcpdump is tcpdump's capture of the same, if Config.Tcpdump was set.
	Tcpdump []byte
	// Delivered counts the lines the other side printed as they were
	// typed. It falls short when the two sides hold different keys: the
	// client wraps its binary session key with strlen(), so a key with a
	// zero byte reaches the server cut short (one run in sixteen or so).
	Delivered int
}

// Run runs s between the two programs in a network namespace of its own
// and returns the capture. It needs root.
func Run(ctx context.Context, cfg Config, s Script) (*Capture, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	type result struct {
		c   *Capture
		err error
	}
	done := make(chan result, 1)
	go func() {
		// Never unlocked: the thread is in the namespace, and ends with
		// this goroutine.
		runtime.LockOSThread()
		c, err := runLocked(ctx, cfg, s)
		done <- result{c, err}
	}()
	r := <-done
	return r.c, r.err
}

// syncBuffer collects output written by another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// side is one running program.
type side struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *syncBuffer
}

func start(path, name string) (*side, error) {
	cmd := exec.Command(path)
	cmd.Dir = filepath.Dir(path)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("original: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("original: start %s: %w", filepath.Base(path), err)
	}
	s := &side{cmd: cmd, stdin: stdin, out: out}
	if err := s.typeLine(name); err != nil {
		s.kill()
		return nil, err
	}
	return s, nil
}

func (s *side) typeLine(l string) error {
	if _, err := io.WriteString(s.stdin, l+"\n"); err != nil {
		return fmt.Errorf("original: type into %s: %w", filepath.Base(s.cmd.Path), err)
	}
	return nil
}

// kill ends the program by its process id. Its stdin is still open, so
// it never reached the end of its input (where it would flood frames).
func (s *side) kill() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

// printed counts the messages the program has printed: each begins
// "\r[name]: ".
func (s *side) printed() int { return bytes.Count(s.out.Bytes(), []byte("\r[")) }

// waitFor polls cond until it holds, or fails with what it waited for.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("original: timed out waiting for %s: %w", what, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
	return nil
}

// runLocked runs s on a thread locked to its goroutine.
func runLocked(ctx context.Context, cfg Config, s Script) (c *Capture, err error) {
	if err := enterNamespace(); err != nil {
		return nil, err
	}
	capCtx, stopCapture := context.WithCancel(ctx)
	defer stopCapture()
	src, link, err := sniff.OpenLive(capCtx, "lo", nil)
	if err != nil {
		return nil, err
	}
	dump := &syncBuffer{}
	sniffed := make(chan error, 1)
	go func() {
		_, err := sniff.Run(capCtx, src, link, sniff.Config{Out: io.Discard, Dump: dump, Live: true})
		sniffed <- err
	}()
	defer func() {
		stopCapture()
		if serr := <-sniffed; err == nil && serr != nil {
			err = serr
		}
		if c != nil {
			c.Pcap = dump.Bytes()
		}
	}()
	var td *tcpdump
	if cfg.Tcpdump != "" {
		if td, err = startTcpdump(ctx, cfg.Tcpdump); err != nil {
			return nil, err
		}
	}
	c = &Capture{Script: s}
	err = converse(ctx, cfg.Programs, s, dump, c)
	if td != nil {
		b, terr := td.stop(ctx, dump.Bytes())
		c.Tcpdump = b
		if err == nil {
			err = terr
		}
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// converse starts both programs, types the script and kills them.
func converse(ctx context.Context, p Programs, s Script, dump *syncBuffer, c *Capture) error {
	server, err := start(p.Server, s.ServerName)
	if err != nil {
		return err
	}
	defer server.kill()
	if err := waitFor(ctx, "the server to listen on port 1234", func() bool { return listening(legacy.Port) }); err != nil {
		return err
	}
	client, err := start(p.Client, s.ClientName)
	if err != nil {
		return err
	}
	defer client.kill()
	// The client's first read takes whatever the server sent as its
	// public key: the server may type only once the key exchange is over.
	if err := waitFor(ctx, "the key exchange", func() bool {
		up, _ := wireBytes(dump.Bytes())
		return up >= legacy.WrappedKeySize
	}); err != nil {
		return err
	}
	up, down := wireBytes(dump.Bytes())
	for _, l := range s.Lines {
		from, to, n := server, client, &down
		if l.FromClient {
			from, to, n = client, server, &up
		}
		shown := to.printed()
		if err := from.typeLine(l.Text); err != nil {
			return err
		}
		*n += legacy.FrameSize
		want := *n
		if err := waitFor(ctx, fmt.Sprintf("the frame of %q on the wire", l.Text), func() bool {
			u, d := wireBytes(dump.Bytes())
			return l.FromClient && u >= want || !l.FromClient && d >= want
		}); err != nil {
			return err
		}
		// One frame at a time: the receiver reads 268 bytes at a time
		// and would misread two frames that arrive together.
		if err := waitFor(ctx, fmt.Sprintf("%q to be printed", l.Text), func() bool { return to.printed() > shown }); err != nil {
			return err
		}
		if bytes.Contains(to.out.Bytes(), []byte("["+s.Speaker(l)+"]: "+l.Text+"\n")) {
			c.Delivered++
		}
	}
	return nil
}

// tcpdump is a running tcpdump writing a file.
type tcpdump struct {
	cmd  *exec.Cmd
	file string
	dir  string
}

// startTcpdump starts tcpdump on the namespace's loopback and waits until
// it captures.
func startTcpdump(ctx context.Context, path string) (*tcpdump, error) {
	dir, err := os.MkdirTemp("", "original-tcpdump-")
	if err != nil {
		return nil, fmt.Errorf("original: %w", err)
	}
	t := &tcpdump{file: filepath.Join(dir, "tcpdump.pcap"), dir: dir}
	t.cmd = exec.Command(path, "-i", "lo", "-n", "-U", "--immediate-mode", "-Z", "root", "-w", t.file, "tcp", "port", fmt.Sprint(legacy.Port))
	stderr, err := t.cmd.StderrPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("original: %w", err)
	}
	if err := t.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("original: start tcpdump: %w", err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		said := false
		for sc.Scan() {
			if !said && strings.Contains(sc.Text(), "listening on") {
				said = true
				ready <- true
			}
		}
		if !said {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if ok {
			return t, nil
		}
		t.cmd.Wait()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("original: tcpdump stopped before it captured")
	case <-ctx.Done():
		t.cmd.Process.Kill()
		t.cmd.Wait()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("original: waiting for tcpdump: %w", ctx.Err())
	}
}

// stop waits until tcpdump's file holds as many bytes of the
// conversation as chatlab's capture, then ends tcpdump by its process id,
// as Ctrl-C would, and returns its file.
func (t *tcpdump) stop(ctx context.Context, ours []byte) ([]byte, error) {
	defer os.RemoveAll(t.dir)
	wantUp, wantDown := wireBytes(ours)
	werr := waitFor(ctx, "tcpdump to write the conversation", func() bool {
		b, _ := os.ReadFile(t.file)
		up, down := wireBytes(b)
		return up >= wantUp && down >= wantDown
	})
	t.cmd.Process.Signal(syscall.SIGINT)
	t.cmd.Wait()
	b, err := os.ReadFile(t.file)
	if err != nil {
		return nil, fmt.Errorf("original: tcpdump's file: %w", err)
	}
	return b, werr
}
