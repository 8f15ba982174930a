package protocol

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"hello":                     "hello",
		"héllo wörld ✓":             "héllo wörld ✓",
		"\x1b[31mred\x1b[0m":        "^[[31mred^[[0m",
		"bell\a":                    "bell^G",
		"tab\there":                 "tab^Ihere",
		"line\nbreak":               "line^Jbreak",
		"del\x7f":                   "del^?",
		"c1 \u009b31m":              "c1 <U+009B>31m",
		"bad \xff utf8":             "bad \uFFFD utf8",
		"evil\u202egnp.exe":         "evil<U+202E>gnp.exe",
		"\x1b]0;title\x07":          "^[]0;title^G",
		"clear\x1b[2J\x1b[H":        "clear^[[2J^[[H",
		"":                          "",
		"\x00nul":                   "^@nul",
		"iso\u2066isolate\u2069":    "iso<U+2066>isolate<U+2069>",
		"ok \u00e9\u0301 combining": "ok \u00e9\u0301 combining",
		"\u200b zero width":         "<U+200B> zero width",
		"tag\U000E0041\U000E007F":   "tag<U+E0041><U+E007F>",
		"bom\ufeff":                 "bom<U+FEFF>",
		"👨\u200d👩\u200d👧 family":    "👨\u200d👩\u200d👧 family",
		"ascii then é\x1b":          "ascii then é^[",
		"real \ufffd stays":         "real \ufffd stays",
	} {
		got := Sanitize(in)
		if got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
		if strings.ContainsAny(got, "\x1b\x07\n\r\x00\u009b") {
			t.Errorf("Sanitize(%q) left a control character: %q", in, got)
		}
	}
}

// invisibles are the characters a reader cannot see, or that turn the
// direction of the text around them, each of which Sanitize must show.
var invisibles = []rune{
	0x200e, 0x200f, 0x061c, // bidi marks
	0x202a, 0x202b, 0x202c, 0x202d, 0x202e, // embeddings and overrides
	0x2066, 0x2067, 0x2068, 0x2069, // isolates
	0x2028, 0x2029, // line and paragraph separators
	0x200b, 0xfeff, 0x2060, 0x00ad, 0x180e, // zero width and soft hyphen
	0xe0000, 0xe0001, 0xe0020, 0xe0041, 0xe007f, // tags
}

// TestSanitizeShowsEveryInvisibleCharacter puts each invisible character
// between two letters and wants it shown in the same <U+XXXX> form as the
// C1 controls, with nothing of it left in the output.
func TestSanitizeShowsEveryInvisibleCharacter(t *testing.T) {
	for _, r := range invisibles {
		in := "a" + string(r) + "b"
		want := fmt.Sprintf("a<U+%04X>b", r)
		got := Sanitize(in)
		if got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
		if strings.ContainsRune(got, r) {
			t.Errorf("Sanitize(%q) kept U+%04X", in, r)
		}
	}
}

// TestSanitizeLeavesNoFormatCharacter checks every code point: what comes
// out holds no control, no format character (Cf) but the two joiners, and
// no line or paragraph separator.
func TestSanitizeLeavesNoFormatCharacter(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		got := Sanitize(string(r))
		for _, o := range got {
			bad := unicode.IsControl(o) || unicode.Is(unicode.Cf, o) && o != 0x200c && o != 0x200d ||
				o == 0x2028 || o == 0x2029 || o >= 0xe0000 && o <= 0xe007f
			if bad {
				t.Fatalf("Sanitize(U+%04X) = %q keeps U+%04X", r, got, o)
			}
		}
	}
}

// TestSanitizePlainASCIIIsNotCopied checks the fast path: printable ASCII
// costs no allocation.
func TestSanitizePlainASCIIIsNotCopied(t *testing.T) {
	line := strings.Repeat("the quick brown fox 0123456789 ", 30)
	if n := testing.AllocsPerRun(100, func() { Sanitize(line) }); n != 0 {
		t.Fatalf("Sanitize of plain ASCII allocates %.0f times", n)
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"hello", "\x1b[31m", "a\u202eb", "\xff", "tag\U000E0041"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Sanitize(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Sanitize(%q) = %q is not UTF-8", s, got)
		}
		for _, o := range got {
			if unicode.IsControl(o) || o == 0x202e || o == 0x2028 || o == 0xfeff {
				t.Fatalf("Sanitize(%q) = %q keeps U+%04X", s, got, o)
			}
		}
		if Sanitize(got) != got {
			t.Fatalf("Sanitize is not idempotent on %q", s)
		}
	})
}

func BenchmarkSanitize(b *testing.B) {
	for _, c := range []struct{ name, text string }{
		{"ascii-1KiB", strings.Repeat("x", 1024)},
		{"utf8-1KiB", strings.Repeat("héllo wörld ✓ ", 64)},
		{"controls-1KiB", strings.Repeat("a\x1bb\u202e", 205)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.text)))
			b.ReportAllocs()
			for b.Loop() {
				Sanitize(c.text)
			}
		})
	}
}

// TestPrintableASCIIPrefix puts every byte value at every place of a
// block among printable neighbours (the extremes of the range, where a
// borrow or carry between bytes would show), and compares the word check
// with a byte-by-byte one.
func TestPrintableASCIIPrefix(t *testing.T) {
	for _, fill := range []byte{' ', '~', 'a'} {
		for at := range 2 * asciiBlock {
			for v := range 256 {
				b := bytes.Repeat([]byte{fill}, 2*asciiBlock+5)
				b[at] = byte(v)
				want := 2 * asciiBlock
				if v < 0x20 || v > 0x7e {
					want = at / asciiBlock * asciiBlock
				}
				if got := printableASCIIPrefix(string(b)); got != want {
					t.Fatalf("byte %#02x at %d among %q: prefix %d, want %d", v, at, fill, got, want)
				}
			}
		}
	}
}
