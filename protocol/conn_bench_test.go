package protocol

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// benchSizes are a short chat line and the 1 KiB message the targets are
// set at.
var benchSizes = []int{16, 1024}

func benchCipher(b *testing.B) RecordCipher {
	b.Helper()
	rc, err := AES128GCM().New(keyA)
	if err != nil {
		b.Fatal(err)
	}
	return rc
}

func BenchmarkSeal(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			rc := benchCipher(b)
			pt := make([]byte, n)
			hdr := Header{Type: TypeData, Length: uint32(rc.SealedLen(n))}.Marshal(nil)
			dst := make([]byte, 0, rc.SealedLen(n))
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				dst = rc.Seal(dst[:0], uint64(i), hdr, pt)
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			rc := benchCipher(b)
			hdr := Header{Type: TypeData, Length: uint32(rc.SealedLen(n))}.Marshal(nil)
			body := rc.Seal(nil, 7, hdr, make([]byte, n))
			dst := make([]byte, 0, n)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = rc.Open(dst[:0], 7, hdr, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// loopConn is a net.Conn whose reads return what was written to it, so
// one Conn's records can be read back by another without a socket.
type loopConn struct {
	net.Conn // nil: only the methods below are used
	buf      bytes.Buffer
}

func (l *loopConn) Read(p []byte) (int, error)  { return l.buf.Read(p) }
func (l *loopConn) Write(p []byte) (int, error) { return l.buf.Write(p) }
func (l *loopConn) Close() error                { return nil }

// BenchmarkMessage is one line through WriteMessages and ReadMessage, in
// memory: the per-message cost of each mode without the system calls.
func BenchmarkMessage(b *testing.B) {
	for _, n := range benchSizes {
		msg := strings.Repeat("x", n)
		b.Run(fmt.Sprintf("plain/%dB", n), func(b *testing.B) {
			lc := &loopConn{}
			w, r := NewPlainConn(lc), NewPlainConn(lc)
			benchMessages(b, w, r, msg)
		})
		b.Run(fmt.Sprintf("secure/%dB", n), func(b *testing.B) {
			lc := &loopConn{}
			w, r := newConn(lc, AES128GCM()), newConn(lc, AES128GCM())
			if err := w.setKeys(keyA, keyB); err != nil {
				b.Fatal(err)
			}
			if err := r.setKeys(keyB, keyA); err != nil {
				b.Fatal(err)
			}
			benchMessages(b, w, r, msg)
		})
	}
}

func benchMessages(b *testing.B, w, r MessageConn, msg string) {
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteMessages(msg); err != nil {
			b.Fatal(err)
		}
		got, err := r.ReadMessage()
		if err != nil || len(got) != len(msg) {
			b.Fatalf("read %d bytes, %v", len(got), err)
		}
	}
}

// BenchmarkHandshake is a whole handshake, both sides, over net.Pipe: the
// server's RSA-2048 OAEP decryption is most of it.
func BenchmarkHandshake(b *testing.B) {
	key := testKey(b, "server-key.pem")
	b.ReportAllocs()
	for b.Loop() {
		cc, sc := net.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := Server(sc, ServerConfig{Key: key})
			done <- err
		}()
		_, _, cerr := Client(cc, ClientConfig{})
		if serr := <-done; cerr != nil || serr != nil {
			b.Fatal(cerr, serr)
		}
		cc.Close()
		sc.Close()
	}
}

// BenchmarkHandshakeLoopback is the same over TCP on 127.0.0.1, as the
// chat server sees it, connect included.
func BenchmarkHandshakeLoopback(b *testing.B) {
	key := testKey(b, "server-key.pem")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, err = Server(c, ServerConfig{Key: key})
			c.Close()
			done <- err
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), HandshakeTimeout)
		if err != nil {
			b.Fatal(err)
		}
		_, _, cerr := Client(c, ClientConfig{Timeout: time.Second})
		if serr := <-done; cerr != nil || serr != nil {
			b.Fatal(cerr, serr)
		}
		c.Close()
	}
}
