package manytime

import "chatlab/protocol/legacy"

// Direction is which way a frame went.
type Direction uint8

// The two directions of a connection.
const (
	ClientToServer Direction = iota
	ServerToClient
)

func (d Direction) String() string {
	if d == ServerToClient {
		return "server → client"
	}
	return "client → server"
}

// Layout says what an eavesdropper knows of the plaintexts' shape.
type Layout uint8

const (
	// Unpadded plaintexts are as long as their ciphertexts and nothing
	// is known of their layout: chatlab's weak fixed-IV suite.
	Unpadded Layout = iota
	// Original plaintexts are the original C program's: a 20-byte name
	// and a 236-byte text, each padded with NUL bytes to its end; one key
	// for both directions; each direction one speaker, whose name is the
	// same in every frame.
	Original
)

// Grade is how a recovered byte is known.
type Grade uint8

const (
	// Unknown bytes were not recovered. Show them with a marker that is
	// not a character people type, such as '·'.
	Unknown Grade = iota
	// Likely bytes come from statistics: English letter and bigram
	// frequencies scored over every frame at once, or a name the texts
	// mention, or a crib. They are right nearly always, not always.
	Likely
	// Certain bytes are forced by the padding: at least minCertainRows
	// different texts were padding there, and no other reading of the
	// padding fits. They rest on one assumption, that that many
	// different texts do not end in the same character at the same
	// place.
	Certain
)

func (g Grade) String() string {
	switch g {
	case Likely:
		return "likely"
	case Certain:
		return "certain"
	}
	return "unknown"
}

// Frame is one ciphertext under the shared keystream.
type Frame struct {
	// N is the caller's number for the frame (a record or frame number in
	// its connection); reports name frames by it.
	N   int
	Dir Direction
	// Ciphertext is the encrypted plaintext alone: no IV, no tag. For the
	// Original layout, the 256 bytes after the 12-byte IV.
	Ciphertext []byte
}

// Input is everything Solve works from.
type Input struct {
	Layout Layout
	// Frames all used one keystream. Past MaxFrames they are only
	// counted, and bytes past MaxLength are not analysed.
	Frames []Frame
	// Cribs are plaintexts the eavesdropper guesses ("alice", "hello").
	Cribs []string
}

// Limits that keep the work bounded by the frames kept.
const (
	// MaxFrames is how many frames are analysed; the sniffer keeps at
	// most this many per IV too. More would add work, not much
	// knowledge: a few dozen frames settle every column statistics can.
	MaxFrames = 64
	// MaxLength is how many bytes of each frame are analysed. Chat lines
	// are nearly all far shorter; the bytes of a longer one past this
	// stay unknown. Each byte costs 256 guesses per frame and pass, so
	// this keeps the worst case (64 frames this long) to about a second.
	MaxLength = 1024
)

// Field is one part of a recovered plaintext: its bytes run from Start to
// End. A field ends only where its padding is recovered; if that is not
// known, at the end of the frame's room for it.
type Field struct {
	Name       string // "name" and "text" (Original), "message" (Unpadded)
	Start, End int
}

// Recovered is what one frame says, byte by byte.
type Recovered struct {
	N   int
	Dir Direction
	// Plain holds the recovered plaintext, Grade how each byte is known.
	// Where Grade is Unknown, Plain is 0 and means nothing.
	Plain []byte
	Grade []Grade
	// Fields cut Plain where the padding starts (Original), or hold it
	// whole (Unpadded). Bytes past a field's End are padding.
	Fields []Field
}

// Result is what a passive eavesdropper recovers.
type Result struct {
	Layout Layout
	// Frames are the frames analysed, in input order.
	Frames []Recovered
	// Dropped counts the frames past MaxFrames, counted but not analysed.
	Dropped int
	// Leaks say in plain words what the ciphertexts give away by
	// themselves: "frames 3 and 7 carry the same text".
	Leaks []string
	// Cribs say what each crib did and where it fits, in plain words.
	Cribs []string
	// Notes say how the recovery went, in plain words.
	Notes []string
	// Certain, Likely and Unknown count the bytes of every frame's
	// fields by grade (padding after a field's end is not counted).
	Certain, Likely, Unknown int
	// Work counts the byte steps done, so tests can check it grows
	// linearly with the frames.
	Work int
}

// Field sizes of the Original layout.
const (
	nameSize = legacy.NameSize
	textSize = legacy.TextSize
	fullSize = legacy.PlaintextSize
)
