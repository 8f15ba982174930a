package cli

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Width is the widest line the commands print for people: a projector,
// or a terminal beside another, shows 100 columns.
const Width = 100

// Say prints prefix and text to w, wrapped at word boundaries to Width
// columns, each further line indented under the start of the text (a
// hanging indent). Lines of text that start with spaces are kept as
// they are, after the indent: they are examples or columns.
func Say(w io.Writer, prefix, text string) {
	fmt.Fprint(w, Wrap(prefix, text, Width))
}

// Wrap returns prefix and text wrapped to width columns with a hanging
// indent, ending in a newline.
func Wrap(prefix, text string, width int) string {
	indent := strings.Repeat(" ", utf8.RuneCountInString(prefix))
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		lead := prefix
		if i > 0 {
			lead = indent
		}
		if strings.HasPrefix(line, " ") {
			b.WriteString(lead + line + "\n")
			continue
		}
		col := utf8.RuneCountInString(lead)
		b.WriteString(lead)
		first := true
		for _, word := range strings.Fields(line) {
			n := utf8.RuneCountInString(word)
			if !first && col+1+n > width {
				b.WriteString("\n" + indent)
				col = len(indent)
				first = true
			}
			if !first {
				b.WriteByte(' ')
				col++
			}
			b.WriteString(word)
			col += n
			first = false
		}
		b.WriteByte('\n')
	}
	return b.String()
}
