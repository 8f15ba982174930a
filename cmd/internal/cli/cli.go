// Package cli is what chatlab's commands share on their command lines:
// -h and --help print the usage to standard output and exit 0, a mistake
// on the command line is reported once on standard error and exits 2, and
// --version comes from the build information.
//
// A command parses each flag set with Parse. A flag set's Usage must
// write to fs.Output(): Parse points it at standard output for -h.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Exit statuses shared by the commands.
const (
	ExitOK    = 0
	ExitError = 1 // the command ran and failed
	ExitUsage = 2 // the command line was wrong, as flag and getopt report it
)

// ErrHelp says the usage was asked for and has been printed: not a
// failure.
var ErrHelp = flag.ErrHelp

// UsageError is a mistake on the command line: a flag that does not
// exist, a missing or malformed value, an extra argument. The command
// reports it once, with its hint, and exits ExitUsage.
type UsageError struct {
	Err  error
	Hint string
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef makes a UsageError.
func Usagef(hint, format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...), Hint: hint}
}

// IsHelp reports whether arg asks for the usage.
func IsHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help":
		return true
	}
	return false
}

// Parse parses args with fs, a ContinueOnError flag set, and allows no
// arguments after the flags. The flag package prints nothing: -h prints
// fs.Usage to stdout and returns ErrHelp, and a mistake comes back as a
// *UsageError in the words a person types (--name, not -name), whose
// hint is "COMMAND -h" lists the flags, or the closest flag's name.
func Parse(fs *flag.FlagSet, args []string, stdout io.Writer, command string) error {
	usage := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = usage }()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		if usage != nil {
			usage()
		} else {
			PrintFlags(stdout, fs)
		}
		return ErrHelp
	}
	listed := fmt.Sprintf("%q lists the flags", command+" -h")
	if err != nil {
		return translate(fs, err, listed)
	}
	if fs.NArg() > 0 {
		return &UsageError{Err: fmt.Errorf("unexpected argument %q", fs.Arg(0)), Hint: listed}
	}
	return nil
}

// The flag package's messages, to be said again in a person's words.
var (
	undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -+(.*)$`)
	needsArgument = regexp.MustCompile(`^flag needs an argument: -+(.*)$`)
	invalidValue  = regexp.MustCompile(`^invalid (?:boolean )?value ("(?:[^"\\]|\\.)*") for (?:flag )?-+([^:]*): (.*)$`)
	badSyntax     = regexp.MustCompile(`^bad flag syntax: (.*)$`)
)

// FlagError says again, in a person's words, an error that fs.Parse
// returned, for a command that calls fs.Parse itself (to take arguments
// between flags). The hint names command's -h.
func FlagError(fs *flag.FlagSet, err error, command string) error {
	return translate(fs, err, fmt.Sprintf("%q lists the flags", command+" -h"))
}

func translate(fs *flag.FlagSet, err error, listed string) error {
	msg := err.Error()
	// A one-letter flag is typed with one dash (-c), a word with two.
	dashes := func(name string) string {
		if len(name) == 1 {
			return "-" + name
		}
		return "--" + name
	}
	if m := undefinedFlag.FindStringSubmatch(msg); m != nil {
		hint := listed
		if near := closest(fs, m[1]); near != "" {
			hint = fmt.Sprintf("did you mean --%s? %s", near, listed)
		}
		return &UsageError{Err: fmt.Errorf("unknown flag %s", dashes(m[1])), Hint: hint}
	}
	if m := needsArgument.FindStringSubmatch(msg); m != nil {
		return &UsageError{Err: fmt.Errorf("%s needs a value", dashes(m[1])), Hint: listed}
	}
	if m := invalidValue.FindStringSubmatch(msg); m != nil {
		return &UsageError{Err: fmt.Errorf("%s %s: %s", dashes(m[2]), m[1], m[3]), Hint: listed}
	}
	if m := badSyntax.FindStringSubmatch(msg); m != nil {
		return &UsageError{Err: fmt.Errorf("%q is not a flag", m[1]), Hint: listed}
	}
	return &UsageError{Err: err, Hint: listed}
}

// maxTypo is the most edits a mistyped flag name may be from a real one
// for the hint to suggest it: two catches a swapped pair or a missing
// letter, and suggests nothing for a name that is simply different.
const maxTypo = 2

// closest returns the defined flag nearest to name, or "".
func closest(fs *flag.FlagSet, name string) string {
	best, bestD := "", maxTypo+1
	fs.VisitAll(func(f *flag.Flag) {
		d := distance(name, f.Name)
		if strings.HasPrefix(f.Name, name) && len(name) >= 3 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

// distance is the Levenshtein edit distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// descColumn is where PrintFlags starts descriptions, as the usage texts
// do.
const descColumn = 24

// lowerWord is a value name to write in capitals (--name NAME); one such
// as light|dark is written as given.
var lowerWord = regexp.MustCompile(`^[a-z]+$`)

// PrintFlags lists fs's flags as a person types them, --name VALUE, each
// with its description beside it, wrapped to Width columns.
func PrintFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, desc := flag.UnquoteUsage(f)
		left := "  --" + f.Name
		if lowerWord.MatchString(name) {
			name = strings.ToUpper(name)
		}
		if name != "" {
			left += " " + name
		}
		if def := f.DefValue; def != "" && def != "false" && def != "0" {
			desc += fmt.Sprintf(" (default %s)", def)
		}
		pad := strings.Repeat(" ", descColumn)
		if len(left) < descColumn-1 {
			fmt.Fprint(w, Wrap(left+pad[len(left):], desc, Width))
			return
		}
		fmt.Fprintf(w, "%s\n%s", left, Wrap(pad, desc, Width))
	})
}

// TrimPrefixes removes each package prefix ("chat: ") where a part of an
// error message starts, at the start or after ": ", so a command that
// says "chat: error: " does not say chat again inside the message.
func TrimPrefixes(msg string, prefixes ...string) string {
	for _, p := range prefixes {
		msg = strings.TrimPrefix(msg, p)
		msg = strings.ReplaceAll(msg, ": "+p, ": ")
	}
	return msg
}
