// Command lesson runs chatlab's classroom lessons: the text of each,
// section by section, with live scenarios on loopback. See package
// chatlab/lessons.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/term"

	"chatlab/cmd/internal/cli"
	"chatlab/lessons"
	"chatlab/sniff/render"
	"chatlab/sniff/web"
)

const usage = `Usage:
  lesson              list the lessons
  lesson N [--auto] [--tap] [--hex] [--theme light|dark] [--original DIR] [--web ADDR]
                      run lesson N: its text section by section, pausing for
                      Enter, with live scenarios on 127.0.0.1
  lesson server --weak NAME [--listen ADDR]
  lesson client --weak NAME [--connect ADDR] [--name NAME]
                      a chat server or client with a deliberately weak suite
                      (fixed-iv or cbc) for the exercises of lessons 3, 4, 6

  --auto     do not pause (for a projector or a script); exit status 1 if a
             lesson's claim did not hold
  --tap      watch the wire through the in-process relay tap even when live
             capture is permitted
  --capture  insist on live capture (needs root or CAP_NET_RAW)
  --hex      add the sniffer's full hex and ASCII dumps (as sniff -X) to its
             compact view
  --original DIR
             lesson 3: run the real original C program from DIR (its source,
             or its built server and client) in a network namespace (root)
  --theme light|dark
             the best colours for the terminal's background (default:
             colours that read on either, for a projector)
  --web ADDR also show the lesson on a web page at ADDR (127.0.0.1:8080 for
             this machine only): its text beside what the wire carries,
             advancing with Enter here or Next (space bar) on the page

Live capture needs root or CAP_NET_RAW; without it the lessons say so in one
line and watch through an in-process relay tap. Colour is on for a terminal
unless NO_COLOR is set.

Examples:
  lesson
  lesson 1
  lesson 2 --auto

"lesson help server" (or "lesson server -h") shows a subcommand's flags;
"lesson --version" the build.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if handled, err := lessons.Internal(args, stdout); handled {
		if err != nil {
			fmt.Fprintf(stderr, "lesson: error: %v\n", err)
			return cli.ExitError
		}
		return cli.ExitOK
	}
	var err error
	switch {
	case len(args) > 0 && (cli.IsHelp(args[0]) || args[0] == "help") && len(args) == 1:
		fmt.Fprint(stdout, usage)
		return cli.ExitOK
	case len(args) == 1 && (args[0] == "--version" || args[0] == "-version"):
		fmt.Fprintln(stdout, cli.Version("lesson"))
		return cli.ExitOK
	case len(args) == 2 && args[0] == "help":
		// "lesson help server" is "lesson server -h".
		return run([]string{args[1], "-h"}, stdin, stdout, stderr)
	case len(args) > 0 && args[0] == "server":
		err = runWeakServer(args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "client":
		err = runWeakClient(args[1:], stdin, stdout, stderr)
	default:
		err = runLesson(args, stdin, stdout, stderr)
	}
	var ue *cli.UsageError
	switch {
	case err == nil, errors.Is(err, cli.ErrHelp):
		return cli.ExitOK
	case errors.Is(err, errStopped):
		fmt.Fprintln(stderr, "lesson: stopped")
		return exitStopped
	}
	// The lessons package's own prefix would say lesson twice.
	cli.Say(stderr, "lesson: error: ", cli.TrimPrefixes(err.Error(), "lessons: "))
	var h hinted
	switch {
	case errors.As(err, &h):
		cli.Say(stderr, "lesson: hint: ", h.hint)
	case errors.As(err, &ue) && ue.Hint != "":
		cli.Say(stderr, "lesson: hint: ", ue.Hint)
	}
	if errors.As(err, &ue) {
		return cli.ExitUsage
	}
	return cli.ExitError
}

// exitStopped is the exit status after Ctrl-C, SIGTERM or SIGHUP: 128
// plus SIGINT's number, as a shell reports a program killed by Ctrl-C.
const exitStopped = 130

// errStopped says a signal stopped the lesson.
var errStopped = errors.New("stopped")

// hinted is an error with advice for the person at the terminal.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

func runLesson(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lesson", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	auto := fs.Bool("auto", false, "do not pause")
	tap := fs.Bool("tap", false, "watch through the relay tap")
	capture := fs.Bool("capture", false, "insist on live capture")
	origDir := fs.String("original", "", "lesson 3: the original C program's source")
	webAddr := fs.String("web", "", "serve the lesson on a page at this address")
	hexDumps := fs.Bool("hex", false, "add the sniffer's full hex dumps")
	var theme cli.Theme
	fs.Var(&theme, "theme", cli.ThemeUsage)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, usage)
				return cli.ErrHelp
			}
			return cli.FlagError(fs, err, "lesson")
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) == 0 {
		lessons.List(stdout)
		return nil
	}
	if len(pos) > 1 {
		return cli.Usagef("run one lesson at a time: lesson N", "unexpected argument %q", pos[1])
	}
	n, err := strconv.Atoi(pos[0])
	if err != nil {
		return cli.Usagef(`"lesson" lists them`, "%q is not a lesson number", pos[0])
	}
	l, err := lessons.Get(n)
	if err != nil {
		return &cli.UsageError{Err: err, Hint: `"lesson" lists them`}
	}
	if *tap && *capture {
		return cli.Usagef("pick one", "--tap and --capture both given")
	}
	watch := lessons.WatchAuto
	switch {
	case *tap:
		watch = lessons.WatchTap
	case *capture:
		watch = lessons.WatchCapture
	}
	// Ctrl-C, kill and the terminal going away all end the lesson
	// cleanly, its scratch directory removed.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	var view *web.View
	if *webAddr != "" {
		view = web.New(l.Title)
		url, err := web.Serve(ctx, *webAddr, view, stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "lesson: the page is at %s\n", url)
	}
	err = lessons.Run(ctx, l, lessons.Options{
		Web:      view,
		Auto:     *auto,
		In:       stdin,
		EndAtEOF: isTerminal(stdin),
		Out:      stdout,
		Color:    isTerminal(stdout) && os.Getenv("NO_COLOR") == "",
		Watch:    watch,
		Original: *origDir,
		Theme:    lessonTheme(theme),
		Dumps:    dumpsFor(*hexDumps),
	})
	if ctx.Err() != nil {
		return errStopped
	}
	return err
}

// dumpsFor is --hex: the sniffer's hex and ASCII dumps, as sniff -X.
func dumpsFor(on bool) render.Dump {
	if on {
		return render.DumpHexASCII
	}
	return render.DumpNone
}

// lessonTheme is --theme for the lessons package.
func lessonTheme(t cli.Theme) lessons.Theme {
	switch t {
	case cli.ThemeDark:
		return lessons.ThemeDark
	case cli.ThemeLight:
		return lessons.ThemeLight
	}
	return lessons.ThemeAny
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
