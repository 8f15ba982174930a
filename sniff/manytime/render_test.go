package manytime_test

import (
	"fmt"
	"strings"

	"chatlab/sniff/manytime"
)

// render writes a result as the golden files hold it: per frame and
// field, the recovered bytes (unknown ones as ·, unprintable ones as \xNN)
// and under them the grades (# certain, ~ likely, blank unknown).
func render(res manytime.Result) string {
	var b strings.Builder
	for _, l := range res.Leaks {
		fmt.Fprintf(&b, "leak: %s\n", l)
	}
	for _, l := range res.Notes {
		fmt.Fprintf(&b, "note: %s\n", l)
	}
	for _, l := range res.Cribs {
		fmt.Fprintf(&b, "crib: %s\n", l)
	}
	fmt.Fprintf(&b, "bytes in fields: %d certain, %d likely, %d unknown\n", res.Certain, res.Likely, res.Unknown)
	for _, r := range res.Frames {
		fmt.Fprintf(&b, "frame %d %s\n", r.N, r.Dir)
		for _, f := range r.Fields {
			var text, grade strings.Builder
			for j := f.Start; j < f.End; j++ {
				var s string
				switch c := r.Plain[j]; {
				case r.Grade[j] == manytime.Unknown:
					s = "·"
				case c >= 0x20 && c < 0x7f:
					s = string(rune(c))
				default:
					s = fmt.Sprintf(`\x%02x`, c)
				}
				text.WriteString(s)
				g := map[manytime.Grade]string{manytime.Certain: "#", manytime.Likely: "~", manytime.Unknown: " "}[r.Grade[j]]
				grade.WriteString(strings.Repeat(g, len([]rune(s))))
			}
			fmt.Fprintf(&b, "  %-7s %s\n          %s\n", f.Name, text.String(), strings.TrimRight(grade.String(), " "))
		}
	}
	return b.String()
}
