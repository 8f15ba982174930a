//go:build race

package chat

// raceEnabled is true under the race detector, which makes every
// goroutine several times slower: the largest rooms are smaller then.
const raceEnabled = true
