package lessons

import (
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// Hidden arguments of the lesson program, for lesson 7's child process.
const (
	internalSpeed  = "--internal-gcm-speed"
	internalVector = "--internal-gcm-vector"
)

// childMeasureTime is how long the child measures; the parent measures as
// long, so the two numbers are comparable.
const childMeasureTime = 300 * time.Millisecond

// Internal runs the lesson program's hidden helper modes, which lesson 7
// starts as a child process with a different GODEBUG. handled is false
// for ordinary arguments.
func Internal(args []string, out io.Writer) (handled bool, err error) {
	if len(args) != 1 {
		return false, nil
	}
	switch args[0] {
	case internalSpeed:
		mbps, err := MeasureGCM(childMeasureTime)
		if err != nil {
			return true, err
		}
		_, err = fmt.Fprintf(out, "%.1f\n", mbps)
		return true, err
	case internalVector:
		v, err := GCMVector()
		if err != nil {
			return true, err
		}
		_, err = fmt.Fprintln(out, hex.EncodeToString(v))
		return true, err
	}
	return false, nil
}
