package chat_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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
// comparison.
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
					d, err := room.Deliver(context.Background(), b.N, size)
					b.StopTimer()
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(d.Delivered)/d.Elapsed.Seconds(), "deliveries/s")
					b.ReportMetric(float64(d.P50.Microseconds()), "p50-µs")
				})
			}
		}
	}
}
