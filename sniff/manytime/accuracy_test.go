package manytime_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"chatlab/lessons/original"
	"chatlab/protocol/legacy"
	"chatlab/sniff/manytime"
)

var update = flag.Bool("update", false, "rewrite testdata: the captures of the real program (needs root, gcc and its source) and the golden files")

// conversation is one capture of the real program with what was typed.
type conversation struct {
	script original.Script
	frames []manytime.Frame
	// want is each frame's true plaintext, from the typed texts.
	want [][]byte
}

// loadConversation reads testdata/NAME.pcap and NAME.txt.
func loadConversation(t testing.TB, name string) conversation {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("testdata", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := original.ParseScript(text)
	if err != nil {
		t.Fatal(err)
	}
	pcap, err := os.ReadFile(filepath.Join("testdata", name+".pcap"))
	if err != nil {
		t.Fatal(err)
	}
	return conversationOf(t, s, pcap)
}

// conversationOf pairs the frames of pcap with the lines of s, in order.
func conversationOf(t testing.TB, s original.Script, pcap []byte) conversation {
	t.Helper()
	frames, err := original.Frames(pcap)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != len(s.Lines) {
		t.Fatalf("%s: %d frames on the wire for %d lines typed", s.Name, len(frames), len(s.Lines))
	}
	c := conversation{script: s}
	for i, f := range frames {
		l := s.Lines[i]
		if f.FromClient != l.FromClient {
			t.Fatalf("%s: frame %d went the other way from line %q", s.Name, i+1, l.Text)
		}
		dir := manytime.ServerToClient
		if f.FromClient {
			dir = manytime.ClientToServer
		}
		c.frames = append(c.frames, manytime.Frame{N: i + 1, Dir: dir, Ciphertext: f.Bytes[legacy.IVSize:]})
		p, err := legacy.MarshalPlaintext(legacy.Message{Name: s.Speaker(l), Text: l.Text})
		if err != nil {
			t.Fatal(err)
		}
		c.want = append(c.want, p[:])
	}
	return c
}

// score is how a recovery compares with the truth.
type score struct {
	chars, charsRight     int // name and text characters, and those recovered right
	certain, certainWrong int // over every byte, padding too
	likely, likelyWrong   int
	unknown               int
}

func (s score) String() string {
	return fmt.Sprintf("%d/%d characters right (%.1f%%); certain %d (%d wrong), likely %d (%d wrong, %.2f%%), unknown %d",
		s.charsRight, s.chars, 100*float64(s.charsRight)/float64(max(s.chars, 1)),
		s.certain, s.certainWrong, s.likely, s.likelyWrong, 100*float64(s.likelyWrong)/float64(max(s.likely, 1)), s.unknown)
}

// measure scores res against want. A character is a byte of a name or a
// text, before its padding.
func measure(res manytime.Result, want [][]byte, isChar func(frame, j int) bool) score {
	var s score
	for i, r := range res.Frames {
		for j, g := range r.Grade {
			right := r.Plain[j] == want[i][j]
			switch g {
			case manytime.Certain:
				s.certain++
				if !right {
					s.certainWrong++
				}
			case manytime.Likely:
				s.likely++
				if !right {
					s.likelyWrong++
				}
			default:
				s.unknown++
			}
			if isChar(i, j) {
				s.chars++
				if g != manytime.Unknown && right {
					s.charsRight++
				}
			}
		}
	}
	return s
}

// originalChars reports whether byte j of a frame is a character of its
// name or text rather than padding.
func originalChars(want [][]byte) func(int, int) bool {
	return func(i, j int) bool { return want[i][j] != 0 }
}

// Targets on the real program's conversations.
const (
	minRecovered   = 0.90 // of the name and text characters, right
	maxLikelyWrong = 0.02
)

func TestRecoverOriginal(t *testing.T) {
	for _, s := range original.Conversations() {
		t.Run(s.Name, func(t *testing.T) {
			c := loadConversation(t, s.Name)
			res := manytime.Solve(manytime.Input{Layout: manytime.Original, Frames: c.frames})
			sc := measure(res, c.want, originalChars(c.want))
			t.Logf("%s, %d frames: %v", s.Name, len(c.frames), sc)
			if sc.certainWrong > 0 {
				t.Errorf("%d bytes shown as certain are wrong", sc.certainWrong)
			}
			if got := float64(sc.charsRight) / float64(sc.chars); got < minRecovered {
				t.Errorf("recovered %.1f%% of the characters, want at least %.0f%%", 100*got, 100*minRecovered)
			}
			if got := float64(sc.likelyWrong) / float64(max(sc.likely, 1)); got > maxLikelyWrong {
				t.Errorf("%.2f%% of the likely bytes are wrong, want at most %.0f%%", 100*got, 100*maxLikelyWrong)
			}
		})
	}
}
