//go:build !race

package sniff

// raceEnabled: the race detector is off.
const raceEnabled = false
