package original

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// enterNamespace moves the calling thread into a new network namespace
// with its loopback up, as "unshare --net" and "ip link set lo up" do.
// The caller must have locked the goroutine to its thread and never
// unlock it: the thread then ends with the goroutine, and the namespace
// with its last process.
func enterNamespace() error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("%w (%v)", ErrNeedRoot, err)
		}
		return fmt.Errorf("original: new network namespace: %w", err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("original: socket for lo: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("original: lo: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("original: flags of lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("original: bring lo up: %w", err)
	}
	return nil
}

// listening reports whether something in this thread's network namespace
// listens on TCP port (IPv4). It reads the kernel's socket table rather
// than connecting, since the original server serves the first connection
// it accepts and no other.
func listening(port int) bool {
	b, err := os.ReadFile("/proc/thread-self/net/tcp")
	if err != nil {
		return false
	}
	want := fmt.Sprintf(":%04X", port)
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		// sl local_address rem_address st …; st 0A is LISTEN.
		if len(f) > 3 && strings.HasSuffix(f[1], want) && f[3] == "0A" {
			return true
		}
	}
	return false
}
