package main

import (
	"fmt"
	"io"
	"net"
	"strings"

	"chatlab/sniff"
)

// listInterfaces prints the interfaces, as tcpdump -D does: a number, the
// name and its state. Those sniff cannot capture on are said to be so.
func listInterfaces(w io.Writer) error {
	ifs, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("list interfaces: %w", err)
	}
	for i, ifc := range ifs {
		var state []string
		if ifc.Flags&net.FlagUp != 0 {
			state = append(state, "Up")
		}
		if ifc.Flags&net.FlagRunning != 0 {
			state = append(state, "Running")
		}
		if ifc.Flags&net.FlagLoopback != 0 {
			state = append(state, "Loopback")
		}
		line := fmt.Sprintf("%d.%s [%s]", i+1, ifc.Name, strings.Join(state, ", "))
		if err := sniff.CanCapture(ifc.Name); err != nil {
			line += " (no capture permission)"
		}
		fmt.Fprintln(w, line)
	}
	return nil
}
