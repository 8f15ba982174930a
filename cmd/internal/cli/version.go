package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// revisionLen is how much of a commit hash the version shows: enough to
// find the commit, short enough for one line.
const revisionLen = 12

// Version says which build this is, from the information the Go tool
// records in every binary: "chat v1.2.3 (go1.26.0 linux/amd64)", or for
// a build from a checkout "chat (devel) revision 0123456789ab, modified
// (go1.26.0 linux/amd64)".
func Version(program string) string {
	info, ok := debug.ReadBuildInfo()
	return versionOf(program, info, ok)
}

func versionOf(program string, info *debug.BuildInfo, ok bool) string {
	platform := fmt.Sprintf("(%s %s/%s)", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if !ok || info == nil {
		return fmt.Sprintf("%s, version unknown (built without module information) %s", program, platform)
	}
	parts := []string{program, info.Main.Version}
	if info.Main.Version == "" {
		parts[1] = "(devel)"
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" && !strings.Contains(info.Main.Version, rev[:min(revisionLen, len(rev))]) {
		r := "revision " + rev[:min(revisionLen, len(rev))]
		if modified == "true" {
			r += ", modified"
		}
		parts = append(parts, r)
	}
	return strings.Join(append(parts, platform), " ")
}
