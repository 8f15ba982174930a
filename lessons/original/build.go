package original

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// DefaultSource is where the original program's source sits, seen from
// the root of a chatlab checkout.
const DefaultSource = "../shared/peers/original-c"

// buildTimeout bounds one gcc run. The program is a few hundred lines; it
// compiles in about a second.
const buildTimeout = 2 * time.Minute

// Errors that tell a caller why the real program cannot run here, so a
// test can skip (or, in CI, fail) with the reason.
var (
	ErrNoSource   = errors.New("original: no source of the original program")
	ErrNoCompiler = errors.New("original: no C compiler (gcc) to build the original program")
	ErrNeedRoot   = errors.New("original: running the original program needs root, for a network namespace and a capture")
)

// Programs are the two built executables.
type Programs struct {
	Server, Client string
}

// Build makes the server and the client from dir. If dir holds server.c
// and client.c, they are compiled into out (gcc NAME.c -lcrypto -lpthread,
// as the program's README says); if it holds no source but built server
// and client executables, those are used as they are.
func Build(ctx context.Context, dir, out string) (Programs, error) {
	if fileExists(filepath.Join(dir, "server.c")) && fileExists(filepath.Join(dir, "client.c")) {
		gcc, err := exec.LookPath("gcc")
		if err != nil {
			return Programs{}, fmt.Errorf("%w: %v", ErrNoCompiler, err)
		}
		out, err := filepath.Abs(out)
		if err != nil {
			return Programs{}, fmt.Errorf("original: %w", err)
		}
		p := Programs{Server: filepath.Join(out, "server"), Client: filepath.Join(out, "client")}
		for _, b := range []struct{ src, bin string }{{"server.c", p.Server}, {"client.c", p.Client}} {
			if err := compile(ctx, gcc, filepath.Join(dir, b.src), b.bin); err != nil {
				return Programs{}, err
			}
		}
		return p, nil
	}
	p := Programs{Server: filepath.Join(dir, "server"), Client: filepath.Join(dir, "client")}
	if isExecutable(p.Server) && isExecutable(p.Client) {
		return p, nil
	}
	return Programs{}, fmt.Errorf("%w in %s: it holds neither server.c and client.c nor built server and client", ErrNoSource, dir)
}

// compile builds one of the two programs.
func compile(ctx context.Context, gcc, src, bin string) error {
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	abs, err := filepath.Abs(src)
	if err != nil {
		return fmt.Errorf("original: %w", err)
	}
	cmd := exec.CommandContext(ctx, gcc, abs, "-lcrypto", "-lpthread", "-o", bin)
	// gcc looks for common.h and crypto.h beside the source file.
	cmd.Dir = filepath.Dir(abs)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("original: gcc %s: %w\n%s", filepath.Base(src), err, lastLines(out, 10))
	}
	return nil
}

func fileExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// lastLines keeps the end of a tool's output for an error message.
func lastLines(b []byte, n int) string {
	lines := 0
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			lines++
			if lines > n {
				return string(b[i+1:])
			}
		}
	}
	return string(b)
}

// SourceEnv names an environment variable that, if set, says where the
// original program's source is, overriding DefaultSource.
const SourceEnv = "CHATLAB_ORIGINAL_C"

// FindSource returns where the original program's source is, for a
// chatlab checkout at root: $CHATLAB_ORIGINAL_C if set, else
// DefaultSource under root, else shared/peers/original-c beside the
// nearest parent of root that has one (a checkout in a worktree folder).
// It returns DefaultSource under root when none exists, for Build to
// report.
func FindSource(root string) string {
	if dir := os.Getenv(SourceEnv); dir != "" {
		return dir
	}
	def := filepath.Join(root, DefaultSource)
	if fileExists(filepath.Join(def, "server.c")) {
		return def
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return def
	}
	for dir := abs; ; dir = filepath.Dir(dir) {
		try := filepath.Join(dir, "shared", "peers", "original-c")
		if fileExists(filepath.Join(try, "server.c")) {
			return try
		}
		if filepath.Dir(dir) == dir {
			return def
		}
	}
}
