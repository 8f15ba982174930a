package chat_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"chatlab/protocol"
	"chatlab/protocol/chat"
	"chatlab/protocol/chat/bench"
)

// BenchmarkFanout sends 1 KiB messages from one member to a room over
// loopback, one op per message sent. With 2 members it is the cost of one
// delivery; with 200, of one message fanned out to 199 receivers. The
// bytes per second count every delivered copy. Each case runs on chatlab
// and on the reference hub (bench.NewRefRoom: TCP for plain, TLS 1.3 for
// secure), with the same lean clients, so every run carries its own
// comparison. Where Linux tells, it reports the write system calls per
// message sent too.
func BenchmarkFanout(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "server-key.pem"))
	if err != nil {
		b.Fatal(err)
	}
	key, err := protocol.ParsePrivateKey(data)
	if err != nil {
		b.Fatal(err)
	}
	const size = 1024
	for _, members := range []int{2, 200} {
		for _, mode := range []chat.Mode{chat.Plain, chat.Secure} {
			for _, target := range []string{bench.TargetChatlab, bench.TargetRef} {
				b.Run(fmt.Sprintf("%s/%s/%d", mode, target, members), func(b *testing.B) {
					var room *bench.Room
					var err error
					if target == bench.TargetRef {
						room, err = bench.NewRefRoom(mode, key, members)
					} else {
						room, err = bench.NewRoom(context.Background(), mode, key, members)
					}
					if err != nil {
						b.Fatal(err)
					}
					defer room.Close()
					b.SetBytes(int64(size * (members - 1)))
					b.ReportAllocs()
					b.ResetTimer()
					w0, counted := writeCalls()
					d, err := room.Deliver(context.Background(), b.N, size)
					w1, _ := writeCalls()
					b.StopTimer()
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(d.Delivered)/d.Elapsed.Seconds(), "deliveries/s")
					b.ReportMetric(float64(d.P50.Microseconds()), "p50-µs")
					if counted {
						b.ReportMetric(float64(w1-w0)/float64(b.N), "writes/msg")
					}
				})
			}
		}
	}
}

// writeCalls is how many write system calls this process has made, from
// /proc/self/io (Linux): the writes/msg figure is the server's writes and
// the sender's per message sent.
func writeCalls() (int, bool) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, err := strconv.Atoi(v)
			return n, err == nil
		}
	}
	return 0, false
}
