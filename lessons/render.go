package lessons

import (
	"regexp"
	"strings"
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
