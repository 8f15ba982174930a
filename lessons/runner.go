package lessons

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"chatlab/sniff/render"
	"chatlab/sniff/web"
)

// Options configure Run.
type Options struct {
	// Auto runs straight through without pausing.
	Auto bool
	// In is where Enter is read; at its end the lesson carries on alone,
	// unless EndAtEOF.
	In io.Reader
	// EndAtEOF makes the end of In end the lesson, as Ctrl-D does on a
	// terminal; a pipe that ends only means nobody is there to press Enter.
	EndAtEOF bool
	// Out receives the lesson's text and everything its steps print;
	// nil discards it.
	Out io.Writer
	// Color turns on colour; the caller decides (terminal, NO_COLOR).
	Color bool
	// Dumps adds the sniffer's full dumps of each unit's bytes (as sniff
	// -X does) to its compact view.
	Dumps render.Dump
	// Theme picks the colours for the background; the zero value reads
	// on any.
	Theme Theme
	// Watch chooses live capture or the relay tap.
	Watch Watch
	// Dir is a scratch directory; empty means a new temporary one,
	// removed at the end.
	Dir string
	// Exe is the lesson program for lesson 7; empty means this program.
	Exe string
	// Original is the original C program's source (or its built server
	// and client), which lesson 3 then runs for real; empty means its Go
	// model.
	Original string
	// Web, if set, shows the lesson on a page, section by section beside
	// what the eavesdropper sees; its Next button (or space bar) goes on
	// as Enter does.
	Web *web.View

	// sniffCopy, if set, also receives what the sniffer prints, so a test
	// can tell the sniffer's lines from the lesson's own.
	sniffCopy io.Writer
}

// List prints the lessons with their numbers and titles.
func List(w io.Writer) {
	fmt.Fprintln(w, "Lessons (run one with: lesson N, or lesson N --auto to run it without pauses):")
	for _, l := range All() {
		fmt.Fprintf(w, "  %d  %s\n", l.Number, strings.TrimPrefix(l.Title, fmt.Sprintf("Lesson %d: ", l.Number)))
	}
}

// Run shows lesson l section by section, runs its steps where the text
// asks for them, and pauses for Enter between sections unless Auto. It
// returns a *ClaimError if a step's claim did not hold. When ctx is done
// (the person pressed Ctrl-C), it stops as soon as the step under way has
// let go of its connections, removes its scratch directory and returns
// ctx.Err(), whatever else went wrong on the way out.
func Run(ctx context.Context, l Lesson, opt Options) (err error) {
	defer func() {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
	}()
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	if opt.Dir == "" {
		dir, err := os.MkdirTemp("", "chatlab-lesson-")
		if err != nil {
			return fmt.Errorf("lessons: scratch directory: %w", err)
		}
		defer os.RemoveAll(dir)
		opt.Dir = dir
	}
	if opt.Exe == "" {
		if opt.Exe, err = os.Executable(); err != nil {
			return fmt.Errorf("lessons: find this program: %w", err)
		}
	}
	env := newEnv(opt.Out, opt.Color, opt.Theme, opt.Watch, opt.Dir, opt.Exe)
	env.dumps = opt.Dumps
	env.sniffCopy = opt.sniffCopy
	env.Original = opt.Original
	p := pauser{auto: opt.Auto, out: env.Out, pal: env.pal, endAtEOF: opt.EndAtEOF}
	if opt.Web != nil {
		env.web = opt.Web
		p.next = opt.Web.Next()
		showOnWeb(opt.Web, l)
	}
	if !opt.Auto && opt.In != nil {
		p.lines = readLines(opt.In)
	}
	env.printf("%s\n", env.pal.heading.Sprint(l.Title))
	sections := l.Sections()
	for i, s := range sections {
		if opt.Web != nil {
			opt.Web.ShowSection(i)
		}
		if s.Heading != "" {
			env.printf("\n%s\n\n", env.pal.heading.Sprint(s.Heading))
		}
		parts := s.Parts
		if i == 0 && len(parts) > 0 && parts[0].Step == "" {
			// The title line was printed above.
			_, rest, _ := strings.Cut(parts[0].Text, "\n")
			parts = append([]Part{{Text: strings.TrimSpace(rest)}}, parts[1:]...)
		}
		for j, part := range parts {
			if part.Step == "" {
				if part.Text != "" {
					if j > 0 {
						env.printf("\n")
					}
					env.printf("%s\n", env.pal.render(part.Text))
				}
				continue
			}
			step := l.Step(part.Step)
			if step == nil {
				return fmt.Errorf("lessons: lesson %d asks for a step %q that does not exist", l.Number, part.Step)
			}
			if err := step(ctx, env); err != nil {
				var ce *ClaimError
				if errors.As(err, &ce) {
					ce.Lesson = l.Number
				}
				return err
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if i < len(sections)-1 {
			if quit := p.pause(ctx); quit {
				return nil
			}
		}
	}
	return nil
}

// pauser waits for Enter between sections.
type pauser struct {
	auto     bool
	endAtEOF bool
	// lines delivers what is typed, one line at a time, and is closed at
	// the end of input; nil when nobody is there to type.
	lines <-chan string
	out   io.Writer
	pal   *palette
	// next is the web page's Next button; nil without a page.
	next <-chan struct{}
}

// readLines reads in on a goroutine of its own, so a pause can give up
// waiting when the lesson is stopped. The goroutine ends with the input.
func readLines(in io.Reader) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

// pause waits for a line. At the end of input it stops waiting for good,
// so a lesson with stdin closed or piped still finishes, unless endAtEOF
// says the end of input means Ctrl-D. "q" quits, and so does ctx ending.
func (p *pauser) pause(ctx context.Context) (quit bool) {
	if p.auto || p.lines == nil && p.next == nil {
		return false
	}
	prompt := "\n── Enter: next · q Enter or Ctrl-C: quit ──"
	if p.endAtEOF {
		prompt = "\n── Enter: next · q Enter, Ctrl-D or Ctrl-C: quit ──"
	}
	fmt.Fprint(p.out, p.pal.prompt.Sprint(prompt))
	defer fmt.Fprintln(p.out)
	select {
	case <-ctx.Done():
		return true
	case <-p.next:
		return false
	case line, ok := <-p.lines:
		if !ok {
			p.lines = nil
			return p.endAtEOF
		}
		return strings.TrimSpace(line) == "q"
	}
}

// showOnWeb puts the lesson's text on its page, as the terminal shows it.
func showOnWeb(v *web.View, l Lesson) {
	var sections []web.Section
	for i, s := range l.Sections() {
		if i == 0 {
			_, s.Body, _ = strings.Cut(s.Body, "\n")
		}
		sections = append(sections, web.Section{Heading: s.Heading, Body: strings.TrimSpace(s.Body)})
	}
	v.ShowLesson(l.Title, sections)
}
