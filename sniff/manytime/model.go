package manytime

import (
	_ "embed"
	"math"
	"strings"
)

// corpus is a few kilobytes of everyday chat English, one message a line.
// The model's letter and bigram frequencies are counted from it.
//
//go:embed corpus.txt
var corpus string

// Character classes of the model. Letters are told apart; the rest are
// counted by kind.
const (
	classSpace  = 26
	classDigit  = 27
	classPunct  = 28 // . , ! ? ' : ; - ( ) " /
	classSymbol = 29 // other printable ASCII
	classEdge   = 30 // the start or end of a field: padding, or nothing
	classJunk   = 31 // control bytes and bytes over 0x7e
	nClasses    = 32
	// classAny is the context when the neighbouring byte is not known.
	classAny = nClasses
)

const punct = ".,!?':;-()\"/"

// smoothing is added to every count, so that what the corpus never shows
// is unlikely, not impossible.
const smoothing = 0.5

// junkPenalty is how much rarer than the rarest printable byte a control
// or high byte is in chat text, as a log-probability.
const junkPenalty = -12.0

// model is a character bigram model of chat text.
type model struct {
	class [256]uint8
	// emit is log P(byte | its class).
	emit [256]float64
	// trans is log P(class of a byte | class of the byte before it), with
	// classAny for an unknown byte before.
	trans [nClasses + 1][nClasses]float64
}

func classOf(b byte) uint8 {
	switch {
	case b == 0:
		return classEdge
	case b >= 'a' && b <= 'z':
		return b - 'a'
	case b >= 'A' && b <= 'Z':
		return b - 'A'
	case b == ' ':
		return classSpace
	case b >= '0' && b <= '9':
		return classDigit
	case strings.IndexByte(punct, b) >= 0:
		return classPunct
	case b > ' ' && b < 0x7f:
		return classSymbol
	}
	return classJunk
}

// newModel counts the corpus. It is cheap (a few kilobytes), and done per
// Solve so that the package keeps no state.
func newModel() *model {
	m := &model{}
	var byteCount [256]float64
	var pair [nClasses][nClasses]float64
	for _, line := range strings.Split(corpus, "\n") {
		if line == "" {
			continue
		}
		prev := uint8(classEdge)
		for i := 0; i < len(line); i++ {
			c := classOf(line[i])
			byteCount[line[i]]++
			pair[prev][c]++
			prev = c
		}
		pair[prev][classEdge]++
	}
	var classTotal [nClasses]float64
	for b := range 256 {
		m.class[b] = classOf(byte(b))
		if b == 0 {
			continue
		}
		byteCount[b] += smoothing
		// Capitals start names and sentences; the corpus is mostly lower
		// case, so give them a floor.
		if b >= 'A' && b <= 'Z' {
			byteCount[b] += 0.05 * byteCount[b+'a'-'A']
		}
		classTotal[m.class[b]] += byteCount[b]
	}
	for b := 1; b < 256; b++ {
		m.emit[b] = math.Log(byteCount[b] / classTotal[m.class[b]])
	}
	var marginal [nClasses]float64
	for p := range nClasses {
		total := 0.0
		for c := range nClasses {
			if c == classJunk {
				continue
			}
			pair[p][c] += smoothing
			total += pair[p][c]
			marginal[c] += pair[p][c]
		}
		for c := range nClasses {
			if c == classJunk {
				m.trans[p][c] = junkPenalty
				continue
			}
			m.trans[p][c] = math.Log(pair[p][c] / total)
		}
	}
	total := 0.0
	for c := range nClasses {
		total += marginal[c]
	}
	for c := range nClasses {
		m.trans[classAny][c] = math.Log(marginal[c] / total)
		if c == classJunk {
			m.trans[classAny][c] = junkPenalty
		}
	}
	return m
}

// context is what the model knows of a neighbouring byte: a class, or
// classAny.
type context = uint8

// score is log P(b | the byte before has context left) + log P(class of
// the byte after | b), the byte after having context right. b is never a
// padding NUL.
func (m *model) score(b byte, left, right context) float64 {
	c := m.class[b]
	s := m.trans[left][c] + m.emit[b]
	if right != classAny {
		s += m.trans[c][right]
	}
	return s
}
