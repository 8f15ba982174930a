package manytime

import "math"

// minStatRows is how many different texts must reach a position where all
// have letters for statistics to say anything: two texts XORed together
// split into two readings in countless ways.
const minStatRows = 3

// noScore marks a reading that cannot be: it would put a NUL in a text.
var noScore = math.Inf(-1)

// column is the readings of one position that the solver weighs.
type column struct {
	best, second float64
	v            byte // the keystream byte of the best reading
	pad          bool // the best reading has padding rows
	certain      bool
}

// offer counts a reading of score sc with keystream byte v.
func (c *column) offer(sc float64, v byte, pad, certain bool) {
	switch {
	case sc > c.best:
		c.second = c.best
		c.best, c.v, c.pad, c.certain = sc, v, pad, certain
	case sc > c.second:
		c.second = sc
	}
}

// solveField works out the keystream over [a,b) from rows, the distinct
// ciphertexts reaching there.
//
// With padding (the Original layout), each text is some letters and then
// NULs to the end of its field, and a NUL is only padding, so a position's
// padding rows are exactly those whose ciphertext byte equals the
// keystream byte, and once padding, a row stays padding to the end. So
// the field is read from its end: at each position the rows that were
// padding one byte later either stay padding (all sharing one ciphertext
// byte, the keystream) or end there with a letter. Each way of splitting
// them is scored with the model over every row at once, and the best is
// kept. Where no row is padding any more, every row has a letter, and the
// keystream byte is the one that makes the column read best as English,
// scored again with both neighbours once they are known.
//
// Without padding, every position is such a column.
func (s *solver) solveField(rows [][]byte, a, b int, padded bool) {
	if len(rows) == 0 || a >= b {
		return
	}
	inPad := make([]bool, len(rows)) // padding at the position after j
	for r := range rows {
		inPad[r] = padded
	}
	open := a - 1 // the last position where every row has a letter
	if !padded {
		open = b - 1
	}
	if padded {
		open = s.readPadding(rows, a, b, inPad)
	}
	for pass := 0; pass <= refinePasses; pass++ {
		for j := open; j >= a; j-- {
			s.textColumn(rows, a, b, j, pass > 0)
		}
	}
}

// readPadding reads the padded field from its end and returns the last
// position where no row is padding (a-1 if there is none).
func (s *solver) readPadding(rows [][]byte, a, b int, inPad []bool) int {
	var count [256]int
	for j := b - 1; j >= a; j-- {
		padRows := 0
		for r, row := range rows {
			if inPad[r] {
				count[row[j]]++
				padRows++
			}
		}
		if padRows == 0 {
			return j
		}
		groups := 0 // values shared by two or more padding rows
		var seen [256]bool
		for r, row := range rows {
			if v := row[j]; inPad[r] && !seen[v] {
				seen[v] = true
				if count[v] >= 2 {
					groups++
				}
			}
		}
		col := column{best: noScore, second: noScore}
		left := s.edgeLeft(a, j)
		// Readings in which the rows with ciphertext byte v stay padding.
		for r, row := range rows {
			v := row[j]
			if !inPad[r] || count[v] == 0 {
				continue
			}
			stay := count[v]
			count[v] = 0 // offered once
			sc := float64(stay) * endOdds.stay
			for q, other := range rows {
				s.work++
				p := other[j] ^ v
				switch {
				case p == 0 && !inPad[q]:
					sc = noScore // a text cannot be padding before its end
				case p == 0:
				case inPad[q]:
					sc += endOdds.end + s.m.score(p, left, classEdge)
				default:
					sc += s.m.score(p, left, s.right(other, q, j+1, b))
				}
			}
			col.offer(sc, v, true, stay >= minCertainRows && groups == 1)
		}
		for r, row := range rows {
			if inPad[r] {
				count[row[j]] = 0
			}
		}
		// Readings in which every padding row ends here.
		s.allText(rows, j, b, left, inPad, &col)
		s.ks[j], s.guessed[j] = col.v, true
		switch {
		case col.pad && col.certain:
			s.grade[j] = Certain
		case col.best-col.second >= likelyMargin:
			s.grade[j] = Likely
		default:
			s.grade[j] = Unknown
		}
		for r, row := range rows {
			inPad[r] = inPad[r] && col.pad && row[j] == col.v
		}
		if !col.pad {
			return j
		}
	}
	return a - 1
}

// edgeLeft is the left context of position j: the start of the field, or
// unknown.
func (s *solver) edgeLeft(a, j int) context {
	if j == a {
		return classEdge
	}
	return classAny
}

// right is the context row q gives position j-1: what was recovered at
// j, the field's end, or unknown.
func (s *solver) right(row []byte, q, j, b int) context {
	if j >= b || j >= len(row) {
		return classEdge
	}
	if !s.guessed[j] {
		return classAny
	}
	return s.m.class[row[j]^s.ks[j]]
}

// allText offers the readings of position j in which every row reaching
// it has a letter there: the padding rows of inPad (if any) end at j.
func (s *solver) allText(rows [][]byte, j, b int, left context, inPad []bool, col *column) {
	for v := range 256 {
		sc := 0.0
		for q, row := range rows {
			if j >= len(row) {
				continue
			}
			s.work++
			p := row[j] ^ byte(v)
			if p == 0 {
				sc = noScore
				break
			}
			if inPad != nil && inPad[q] {
				sc += endOdds.end + s.m.score(p, left, classEdge)
			} else {
				sc += s.m.score(p, left, s.right(row, q, j+1, b))
			}
		}
		col.offer(sc, byte(v), false, false)
	}
}

// textColumn scores position j, where every row reaching it has a letter,
// and keeps the best keystream byte. With both, the left neighbours'
// current reading is used too.
func (s *solver) textColumn(rows [][]byte, a, b, j int, both bool) {
	col := column{best: noScore, second: noScore}
	reach := 0
	for _, row := range rows {
		if j < len(row) {
			reach++
		}
	}
	if reach == 0 {
		return
	}
	for v := range 256 {
		sc := 0.0
		for q, row := range rows {
			if j >= len(row) {
				continue
			}
			s.work++
			p := row[j] ^ byte(v)
			if p == 0 {
				sc = noScore
				break
			}
			left := context(classEdge)
			if j > a {
				left = classAny
				if both && s.guessed[j-1] {
					left = s.m.class[row[j-1]^s.ks[j-1]]
				}
			}
			sc += s.m.score(p, left, s.right(row, q, j+1, b))
		}
		col.offer(sc, byte(v), false, false)
	}
	s.ks[j], s.guessed[j] = col.v, true
	s.grade[j] = Unknown
	if reach >= minStatRows && col.best-col.second >= likelyMargin {
		s.grade[j] = Likely
	}
}
