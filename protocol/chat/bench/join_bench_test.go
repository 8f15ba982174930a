package bench

import (
	"net"
	"testing"
	"time"

	"chatlab/protocol"
	"chatlab/protocol/chat"
)

// BenchmarkJoinPhases splits a secure join, as its client sees it, into
// the TCP connect, the wait for the hello, the client's key wrap and its
// one write of the key exchange and the name, and the wait from there to
// the greeting, and reports each
// median next to that of bare RSA-2048 OAEP decryptions, timed in turns
// with the joins as chat bench times them. It shows where a join spends
// what it spends beyond the decryption.
func BenchmarkJoinPhases(b *testing.B) {
	key := testKey(b)
	_, addr, shutdown, err := startServer(chat.Secure, key)
	if err != nil {
		b.Fatal(err)
	}
	defer shutdown()
	wrapped, err := wrapForTiming(key)
	if err != nil {
		b.Fatal(err)
	}
	var connect, hello, wrap, greeting, whole, decrypt []time.Duration
	for i := 0; b.Loop(); i++ {
		for j := 0; i%timingTurn == 0 && j < timingTurn; j++ {
			d, err := timeDecrypt(key, wrapped)
			if err != nil {
				b.Fatal(err)
			}
			decrypt = append(decrypt, d)
		}
		t0 := time.Now()
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		var t2 time.Time
		// The name goes in the key exchange's write, as chat.Dial sends it.
		conn, _, err := protocol.Client(nc, protocol.ClientConfig{First: []string{"hs"}, Verify: func(protocol.Hello) error {
			t2 = time.Now()
			return nil
		}})
		if err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
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
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"connect", connect}, {"hello", hello}, {"wrap", wrap}, {"greeting", greeting}, {"join", whole}, {"decrypt", decrypt}} {
		b.ReportMetric(float64(median(m.d).Microseconds()), m.name+"-µs")
	}
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
	b.ReportMetric(float64(median(connect).Microseconds()), "connect-µs")
	b.ReportMetric(float64(median(trip).Microseconds()), "roundtrip-µs")
}
