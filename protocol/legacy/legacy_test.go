package legacy

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"chatlab/protocol"
)

var update = flag.Bool("update", false, "rewrite testdata/frames.txt")

// testKey is the session key of the frame vectors.
var testKey, _ = hex.DecodeString("000102030405060708090a0b0c0d0e0f")

var vectorMessages = []Message{
	{Name: "alice", Text: "hello bob"},
	{Name: "bob", Text: "hi alice, the IV is all zero"},
	{Name: "", Text: ""},
	{Name: strings.Repeat("n", NameSize), Text: strings.Repeat("t", TextSize)},
}

// readFrameVectors reads testdata/frames.txt: blocks of "name:", "text:"
// and "frame:" (hex) lines, all under testKey.
func readFrameVectors(t testing.TB) []map[string]string {
	t.Helper()
	f, err := os.Open("testdata/frames.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]string
	cur := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = map[string]string{}
			}
			continue
		}
		k, v, _ := strings.Cut(line, ":")
		cur[k] = strings.TrimPrefix(v, " ")
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func TestFrameVectors(t *testing.T) {
	if *update {
		var b bytes.Buffer
		b.WriteString("# Frames in the original program's format: zero IV, AES-128-GCM, no tag.\n")
		fmt.Fprintf(&b, "# Session key %x.\n", testKey)
		for _, m := range vectorMessages {
			frame, err := SealFrame(testKey, m)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "\nname: %s\ntext: %s\nframe: %x\n", m.Name, m.Text, frame)
		}
		if err := os.WriteFile("testdata/frames.txt", b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vs := readFrameVectors(t)
	if len(vs) != len(vectorMessages) {
		t.Fatalf("%d vectors, want %d", len(vs), len(vectorMessages))
	}
	for i, v := range vs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			want, err := hex.DecodeString(v["frame"])
			if err != nil {
				t.Fatal(err)
			}
			got, err := SealFrame(testKey, Message{Name: v["name"], Text: v["text"]})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("SealFrame = %x\nwant %x", got, want)
			}
			m, err := OpenFrame(testKey, want)
			if err != nil || m.Name != v["name"] || m.Text != v["text"] {
				t.Errorf("OpenFrame = %+v, %v", m, err)
			}
		})
	}
}

// TestSealMatchesGCM checks the claim the package rests on: a frame is
// AES-128-GCM output with the tag cut off.
func TestSealMatchesGCM(t *testing.T) {
	aead, err := protocol.NewGCM(testKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range vectorMessages {
		p, err := MarshalPlaintext(m)
		if err != nil {
			t.Fatal(err)
		}
		zero := make([]byte, IVSize)
		sealed := aead.Seal(nil, zero, p[:], nil)
		frame, err := SealFrame(testKey, m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(frame[IVSize:], sealed[:PlaintextSize]) {
			t.Fatalf("frame for %+v is not GCM without its tag", m)
		}
	}
}

func TestRoundTripRandom(t *testing.T) {
	key := make([]byte, KeySize)
	rand.Read(key)
	for i := 0; i < 200; i++ {
		name := randomText(i % (NameSize + 1))
		text := randomText((i * 7) % (TextSize + 1))
		frame, err := SealFrame(key, Message{Name: name, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		m, err := OpenFrame(key, frame)
		if err != nil || m.Name != name || m.Text != text {
			t.Fatalf("round trip of %q/%q gave %+v, %v", name, text, m, err)
		}
	}
}

func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return string(b)
}

func TestTooLong(t *testing.T) {
	for _, m := range []Message{
		{Name: strings.Repeat("n", NameSize+1)},
		{Text: strings.Repeat("t", TextSize+1)},
		{Name: "a\x00b"},
	} {
		if _, err := SealFrame(testKey, m); err != ErrTooLong {
			t.Errorf("SealFrame(%q…) error = %v, want ErrTooLong", m.Name, err)
		}
	}
}

func TestEveryPrefixRejected(t *testing.T) {
	frame, _ := SealFrame(testKey, vectorMessages[0])
	for n := 0; n < len(frame); n++ {
		if _, err := OpenFrame(testKey, frame[:n]); err == nil {
			t.Fatalf("a %d-byte prefix of a frame opened", n)
		}
	}
	key := loadKey(t)
	pemKey, err := MarshalPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePublicKey(pemKey); err != nil {
		t.Fatal(err)
	}
	if PEMLen(pemKey) != len(pemKey) {
		t.Fatalf("PEMLen = %d, want %d", PEMLen(pemKey), len(pemKey))
	}
	for n := 0; n < len(pemKey); n++ {
		if _, err := ParsePublicKey(pemKey[:n]); err == nil {
			t.Fatalf("a %d-byte prefix of the PEM key parsed", n)
		}
		if PEMLen(pemKey[:n]) != 0 {
			t.Fatalf("PEMLen of a %d-byte prefix is not 0", n)
		}
	}
}

func loadKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	data, err := os.ReadFile("testdata/server-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := protocol.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestExchange(t *testing.T) {
	key := loadKey(t)
	sc, cc := net.Pipe()
	t.Cleanup(func() { sc.Close(); cc.Close() })
	type result struct {
		c   *Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := Server(sc, key)
		done <- result{c, err}
	}()
	client, pub, err := Client(cc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(&key.PublicKey) {
		t.Fatal("client got another public key")
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !bytes.Equal(client.SessionKey(), r.c.SessionKey()) {
		t.Fatal("the two sides hold different session keys")
	}
	go client.WriteFrame(Message{Name: "alice", Text: "hello"})
	m, err := r.c.ReadFrame()
	if err != nil || m != (Message{Name: "alice", Text: "hello"}) {
		t.Fatalf("server read %+v, %v", m, err)
	}
	go r.c.WriteFrame(Message{Name: "alice", Text: "hello"})
	m, err = client.ReadFrame()
	if err != nil || m.Text != "hello" {
		t.Fatalf("client read %+v, %v", m, err)
	}
}

func TestUnwrapRejects(t *testing.T) {
	key := loadKey(t)
	wrapped, err := WrapKey(rand.Reader, &key.PublicKey, testKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnwrapKey(key, wrapped)
	if err != nil || !bytes.Equal(got, testKey) {
		t.Fatalf("UnwrapKey = %x, %v", got, err)
	}
	for n := 0; n < len(wrapped); n += 17 {
		if _, err := UnwrapKey(key, wrapped[:n]); err != ErrKeyExchange {
			t.Fatalf("a %d-byte prefix unwrapped: %v", n, err)
		}
	}
	wrapped[100] ^= 1
	if _, err := UnwrapKey(key, wrapped); err != ErrKeyExchange {
		t.Fatalf("a changed blob unwrapped: %v", err)
	}
}

func FuzzOpenFrame(f *testing.F) {
	for _, v := range readFrameVectors(f) {
		b, _ := hex.DecodeString(v["frame"])
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := OpenFrame(testKey, frame)
		if err != nil {
			return
		}
		if len(frame) != FrameSize || len(m.Name) > NameSize || len(m.Text) > TextSize {
			t.Fatalf("opened %d bytes into %+v", len(frame), m)
		}
		again, err := SealFrame(testKey, m)
		if err != nil {
			t.Fatal(err)
		}
		back, _ := OpenFrame(testKey, again)
		if back != m {
			t.Fatalf("re-sealed %+v opened as %+v", m, back)
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	pemKey, _ := MarshalPublicKey(&loadKey(f).PublicKey)
	f.Add(pemKey)
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		if n := PEMLen(text); n > len(text) {
			t.Fatalf("PEMLen %d past the end of %d bytes", n, len(text))
		}
		if pub, err := ParsePublicKey(text); err == nil && pub.N.BitLen() != RSABits {
			t.Fatal("accepted a key of the wrong size")
		}
	})
}
