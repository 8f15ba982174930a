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
// bytes per second count every delivered copy.
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
			b.Run(fmt.Sprintf("%s/%d", mode, members), func(b *testing.B) {
				room, err := bench.NewRoom(context.Background(), mode, key, members)
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
