package bench

import (
	"net"
	"slices"
	"testing"
	"time"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// BenchmarkJoinPhases splits a secure join, as its client sees it, into
// the TCP connect, the wait for the hello, the client's key wrap and send,
// and the wait from the key exchange to the greeting, and reports each
// median next to a bare RSA-2048 OAEP decryption's. It shows where a join
// spends what it spends beyond the decryption.
func BenchmarkJoinPhases(b *testing.B) {
	key := testKey(b)
	_, addr, shutdown, err := startServer(chat.Secure, key)
	if err != nil {
		b.Fatal(err)
	}
	defer shutdown()
	var connect, hello, wrap, greeting, whole []time.Duration
	for b.Loop() {
		t0 := time.Now()
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		var t2 time.Time
		conn, _, err := protocol.Client(nc, protocol.ClientConfig{Verify: func(protocol.Hello) error {
			t2 = time.Now()
			return nil
		}})
		if err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		if err := conn.WriteMessages("hs"); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.ReadMessage(); err != nil {
			b.Fatal(err)
		}
		t4 := time.Now()
		nc.Close()
		connect = append(connect, t1.Sub(t0))
		hello = append(hello, t2.Sub(t1))
		wrap = append(wrap, t3.Sub(t2))
		greeting = append(greeting, t4.Sub(t3))
		whole = append(whole, t4.Sub(t0))
	}
	b.StopTimer()
	decrypt, err := timeDecrypts(key, 50, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"connect", connect}, {"hello", hello}, {"wrap", wrap}, {"greeting", greeting}, {"join", whole}} {
		b.ReportMetric(float64(p50(m.d).Microseconds()), m.name+"-µs")
	}
	b.ReportMetric(float64(decrypt.Microseconds()), "decrypt-µs")
}

// BenchmarkLoopbackFloor is what any join pays at least: a TCP connect on
// loopback, then one-byte round trips between two goroutines.
func BenchmarkLoopbackFloor(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				one := make([]byte, 1)
				for {
					if _, err := c.Read(one); err != nil {
						return
					}
					if _, err := c.Write(one); err != nil {
						return
					}
				}
			}()
		}
	}()
	var connect, trip []time.Duration
	one := make([]byte, 1)
	for b.Loop() {
		t0 := time.Now()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := c.Write(one); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(one); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		c.Close()
		connect = append(connect, t1.Sub(t0))
		trip = append(trip, t2.Sub(t1))
	}
	b.ReportMetric(float64(p50(connect).Microseconds()), "connect-µs")
	b.ReportMetric(float64(p50(trip).Microseconds()), "roundtrip-µs")
}

func p50(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}
