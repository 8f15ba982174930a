package lessons

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

//go:embed [0-9][0-9]-*.md
var texts embed.FS

// Step is one live part of a lesson. It prints to the Env and returns a
// *ClaimError if the lesson's claim did not hold, or another error if the
// scenario itself failed (a capture that did not drain, say).
type Step func(ctx context.Context, e *Env) error

// Lesson is one lesson: its text and the steps its text calls for.
type Lesson struct {
	Number int    // from 1, as the lesson command takes it
	Slug   string // the file name's words, such as "ivs"
	Title  string // the text's first line, without the "# "
	// Text is the Markdown, as it reads on a code-hosting site.
	Text string
	// Watches says the lesson puts a chat on the wire for an eavesdropper.
	Watches bool
	steps   map[string]Step
}

// Section is a part of a lesson's text, from one "## " heading to the
// next. Its Parts alternate text and live steps in the order the text
// gives them, so each step runs where its marker stands: the reveal comes
// before the paragraph that explains it.
type Section struct {
	Heading string   // empty for the part before the first heading
	Body    string   // the Markdown, without the run markers
	Steps   []string // names of the steps to run, in order
	Parts   []Part   // the text and the steps, in the order written
}

// Part is a stretch of a section's text, or one step to run there:
// exactly one of Text and Step is set.
type Part struct {
	Text string // Markdown, trimmed
	Step string // the name of a step
}

// stepMarker is how a text asks for a live step, invisibly on a
// code-hosting site: <!-- run: NAME -->.
var stepMarker = regexp.MustCompile(`(?m)^<!-- run: ([a-z0-9-]+) -->\n?`)

// Sections splits the text at its "## " headings, and each section at its
// run markers.
func (l Lesson) Sections() []Section {
	var out []Section
	cur := Section{}
	flush := func() {
		body := cur.Body
		rest := body
		for _, loc := range stepMarker.FindAllStringSubmatchIndex(body, -1) {
			if t := strings.TrimSpace(body[len(body)-len(rest) : loc[0]]); t != "" {
				cur.Parts = append(cur.Parts, Part{Text: t})
			}
			name := body[loc[2]:loc[3]]
			cur.Steps = append(cur.Steps, name)
			cur.Parts = append(cur.Parts, Part{Step: name})
			rest = body[loc[1]:]
		}
		if t := strings.TrimSpace(rest); t != "" {
			cur.Parts = append(cur.Parts, Part{Text: t})
		}
		cur.Body = strings.TrimSpace(stepMarker.ReplaceAllString(body, ""))
		if cur.Heading != "" || cur.Body != "" {
			out = append(out, cur)
		}
	}
	for _, line := range strings.SplitAfter(l.Text, "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			flush()
			cur = Section{Heading: strings.TrimSpace(h)}
			continue
		}
		cur.Body += line
	}
	flush()
	return out
}

// scenarios maps each lesson number to its steps and whether it watches
// the wire. Each lesson's file defines its steps.
func scenarios() map[int]struct {
	watches bool
	steps   map[string]Step
} {
	type sc = struct {
		watches bool
		steps   map[string]Step
	}
	return map[int]sc{
		1: {true, map[string]Step{"plain-chat": stepPlainChat}},
		2: {true, map[string]Step{"secure-chat": stepSecureChat, "compare": stepCompare}},
		3: {true, map[string]Step{"fixed-iv": stepFixedIV, "original": stepOriginal, "fresh-nonce": stepFreshNonce}},
		4: {true, map[string]Step{"cbc-flip": stepCBCFlip, "gcm-flip": stepGCMFlip}},
		5: {true, map[string]Step{"mitm": stepMITM, "pinning": stepPinning, "tofu": stepTOFU}},
		6: {true, map[string]Step{"replay-cbc": stepReplayCBC, "replay-gcm": stepReplayGCM}},
		7: {false, map[string]Step{"measure": stepMeasure}},
		8: {true, map[string]Step{"record": stepRecordAndSteal}},
	}
}

var fileName = regexp.MustCompile(`^([0-9]{2})-([a-z0-9-]+)\.md$`)

// All returns every lesson, in order.
func All() []Lesson {
	entries, err := fs.ReadDir(texts, ".")
	if err != nil {
		panic("lessons: embedded texts unreadable: " + err.Error())
	}
	sc := scenarios()
	var out []Lesson
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		data, err := texts.ReadFile(e.Name())
		if err != nil {
			panic("lessons: embedded text unreadable: " + err.Error())
		}
		text := string(data)
		title, _, _ := strings.Cut(text, "\n")
		l := Lesson{Number: n, Slug: m[2], Title: strings.TrimSpace(strings.TrimPrefix(title, "# ")), Text: text}
		l.Watches, l.steps = sc[n].watches, sc[n].steps
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// Get returns lesson n.
func Get(n int) (Lesson, error) {
	all := All()
	for _, l := range all {
		if l.Number == n {
			return l, nil
		}
	}
	return Lesson{}, fmt.Errorf("lessons: there is no lesson %d; the lessons are %d to %d", n, all[0].Number, all[len(all)-1].Number)
}

// Step returns the named step, or nil.
func (l Lesson) Step(name string) Step { return l.steps[name] }
