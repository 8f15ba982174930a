//go:build race

package sniff

// raceEnabled: the race detector is on.
const raceEnabled = true
