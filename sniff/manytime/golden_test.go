package manytime_test

import (
	"os"
	"path/filepath"
	"testing"

	"chatlab/lessons/original"
	"chatlab/sniff/manytime"
)

// TestGolden holds the recovery of each committed capture, without a
// key, to testdata/NAME.golden (refresh with -update), and once more with
// cribs to NAME.crib.golden.
func TestGolden(t *testing.T) {
	for _, s := range original.Conversations() {
		for _, v := range []struct {
			suffix string
			cribs  []string
		}{{".golden", nil}, {".crib.golden", []string{"the", "thanks", "see you"}}} {
			t.Run(s.Name+v.suffix, func(t *testing.T) {
				c := loadConversation(t, s.Name)
				got := render(manytime.Solve(manytime.Input{Layout: manytime.Original, Frames: c.frames, Cribs: v.cribs}))
				path := filepath.Join("testdata", s.Name+v.suffix)
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if got != string(want) {
					t.Errorf("recovery of %s differs from %s:\n%s", s.Name, path, got)
				}
			})
		}
	}
}
