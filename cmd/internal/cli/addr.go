package cli

import (
	"fmt"
	"net"
	"strings"
)

// CheckAddr refuses an address that is not HOST:PORT before anything
// dials or listens, saying which half is missing: "--connect 9000" is a
// port without its host.
func CheckAddr(flagName, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	switch {
	case err == nil && port != "":
		return nil
	case err == nil:
		return Usagef(fmt.Sprintf("--%s wants HOST:PORT, for example --%s %s9000", flagName, flagName, addr),
			"--%s %s: the port is missing", flagName, addr)
	case addr != "" && strings.Trim(addr, "0123456789") == "":
		return Usagef(fmt.Sprintf("--%s wants HOST:PORT, for example --%s 127.0.0.1:%s", flagName, flagName, addr),
			"--%s %s: the host is missing", flagName, addr)
	case !strings.Contains(addr, ":"):
		return Usagef(fmt.Sprintf("--%s wants HOST:PORT, for example --%s %s:9000", flagName, flagName, addr),
			"--%s %s: the port is missing", flagName, addr)
	}
	return Usagef(fmt.Sprintf("--%s wants HOST:PORT, such as 127.0.0.1:9000 or [::1]:9000", flagName),
		"--%s %q is not HOST:PORT", flagName, addr)
}
