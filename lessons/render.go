package lessons

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// inline matches the Markdown the lesson texts use inside a paragraph:
// `code`, **bold** and *emphasis*, each of which may run over a line end.
var inline = regexp.MustCompile("(?s)`([^`]+)`|\\*\\*(.+?)\\*\\*|\\*([^*\\s](?:[^*]*[^*\\s])?)\\*")

// codeIndent marks a code block line in the lesson texts.
const codeIndent = "    "

// render turns a section's Markdown into terminal text: the backticks
// and asterisks go, bold and emphasis become bold and italic when colour
// is on, and code blocks (indented lines) stay as they are.
func (p *palette) render(md string) string {
	var out, para []string
	flush := func() {
		if len(para) > 0 {
			out = append(out, p.inline(strings.Join(para, "\n")))
			para = nil
		}
	}
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, codeIndent) {
			flush()
			out = append(out, l)
			continue
		}
		para = append(para, l)
	}
	flush()
	return strings.Join(out, "\n")
}

func (p *palette) inline(s string) string {
	return inline.ReplaceAllStringFunc(s, func(m string) string {
		sub := inline.FindStringSubmatch(m)
		switch {
		case sub[1] != "":
			return sub[1]
		case sub[2] != "":
			return p.bold.Sprint(strings.ReplaceAll(sub[2], "`", ""))
		default:
			return p.italic.Sprint(sub[3])
		}
	})
}

// wrap breaks every line of s wider than maxWidth columns at word
// boundaries. The continuation lines hang under the line's text: past its
// leading spaces and a leading mark (✔, ✘, ▶, *). Colour sequences take
// no columns. A word wider than a line stays whole.
func wrap(s string) string {
	lines := strings.Split(s, "\n")
	for i, line := range lines {
		if visibleWidth(line) <= maxWidth {
			continue
		}
		lines[i] = wrapLine(line)
	}
	return strings.Join(lines, "\n")
}

// maxWidth is the widest line a lesson prints: a projector, or a
// terminal beside another, shows 100 columns.
const maxWidth = 100

// hangMarks are the marks whose text a wrapped line hangs under.
var hangMarks = []string{"✔ ", "✘ ", "▶ ", "* ", "- "}

func wrapLine(line string) string {
	plain := sgrSeq.ReplaceAllString(line, "")
	indent := len(plain) - len(strings.TrimLeft(plain, " "))
	hang := indent
	for _, m := range hangMarks {
		if strings.HasPrefix(plain[indent:], m) {
			hang += utf8.RuneCountInString(m)
		}
	}
	pad := strings.Repeat(" ", hang)
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", indent))
	col := indent
	first := true
	// Split on single spaces, so runs of spaces inside the line (its
	// columns) survive as empty words.
	for _, word := range strings.Split(strings.TrimLeft(line, " "), " ") {
		n := visibleWidth(word)
		if !first && col+1+n > maxWidth {
			b.WriteString("\n" + pad)
			col, first = hang, true
		}
		if !first {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += n
		first = false
	}
	return b.String()
}

// sgrSeq matches a colour escape sequence.
var sgrSeq = regexp.MustCompile("\x1b\\[[0-9;]*m")

func visibleWidth(s string) int { return utf8.RuneCountInString(sgrSeq.ReplaceAllString(s, "")) }

// withoutPackagePrefixes drops the "chat: " and "protocol: " that start
// the parts of an error from the chat packages: the lesson says whose
// error it is in its own words.
func withoutPackagePrefixes(msg string) string {
	for _, p := range []string{"chat: ", "protocol: "} {
		msg = strings.TrimPrefix(msg, p)
		msg = strings.ReplaceAll(msg, ": "+p, ": ")
	}
	return msg
}
