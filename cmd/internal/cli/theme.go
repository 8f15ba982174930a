package cli

import "fmt"

// Theme is the --theme flag: the background the output is shown on. The
// zero value, "", means either: colours that read on a light and on a
// dark background, for a projector whose background nobody knows.
type Theme string

// The themes a person can name.
const (
	ThemeAny   Theme = ""
	ThemeLight Theme = "light"
	ThemeDark  Theme = "dark"
)

// ThemeUsage describes --theme for a flag set.
const ThemeUsage = "the terminal's `light|dark` background, for its best colours " +
	"(default: colours that read on either)"

// Set accepts light and dark.
func (t *Theme) Set(s string) error {
	switch Theme(s) {
	case ThemeLight, ThemeDark:
		*t = Theme(s)
		return nil
	}
	return fmt.Errorf("want light or dark")
}

func (t *Theme) String() string { return string(*t) }
