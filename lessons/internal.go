package lessons

import "io"

// Internal runs the lesson program's hidden helper modes, which lesson 7
// starts as a child process. handled is false for ordinary arguments.
func Internal(args []string, out io.Writer) (handled bool, err error) {
	return false, nil
}
