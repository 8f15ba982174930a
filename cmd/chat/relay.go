package main

import (
	"errors"
	"io"
)

func runRelay(args []string, stdout, stderr io.Writer) error {
	return errors.New("relay: not built yet")
}
