package protocol

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.txt (the handshake blob is re-randomised)")

// vector is one block of testdata/vectors.txt: "key: value" lines, with
// binary values in hex.
type vector map[string]string

func (v vector) hex(t *testing.T, key string) []byte {
	t.Helper()
	b, err := hex.DecodeString(v[key])
	if err != nil {
		t.Fatalf("vector %q: field %s: %v", v["name"], key, err)
	}
	return b
}

func readVectors(t testing.TB, path string) []vector {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vector
	cur := vector{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.TrimSpace(line) == "":
			if len(cur) > 0 {
				out = append(out, cur)
				cur = vector{}
			}
		default:
			k, val, ok := strings.Cut(line, ": ")
			if !ok {
				t.Fatalf("%s: bad line %q", path, line)
			}
			cur[k] = val
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func testKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

const vectorsPath = "testdata/vectors.txt"

func TestVectors(t *testing.T) {
	if *update {
		writeVectors(t)
	}
	key := testKey(t, "server-key.pem")
	vs := readVectors(t, vectorsPath)
	if len(vs) < 4 {
		t.Fatalf("only %d vectors", len(vs))
	}
	for _, v := range vs {
		t.Run(v["name"], func(t *testing.T) {
			switch v["kind"] {
			case "handshake":
				checkHandshakeVector(t, v, key)
			case "data":
				checkDataVector(t, v)
			default:
				t.Fatalf("unknown kind %q", v["kind"])
			}
		})
	}
}

func checkHandshakeVector(t *testing.T, v vector, key *rsa.PrivateKey) {
	helloRec, kexRec := v.hex(t, "hello-record"), v.hex(t, "key-exchange-record")
	h, body, rest, err := ParseRecord(helloRec)
	if err != nil || h.Type != TypeHello || len(rest) != 0 {
		t.Fatalf("hello record: %v %v rest=%d", h, err, len(rest))
	}
	hello, err := ParseHello(body)
	if err != nil {
		t.Fatal(err)
	}
	if got := FingerprintDER(hello.KeyDER); got != v["fingerprint"] {
		t.Errorf("fingerprint %s, want %s", got, v["fingerprint"])
	}
	if hello.Suite != SuiteAES128GCM || hello.Version != Version {
		t.Errorf("hello suite %v version %d", hello.Suite, hello.Version)
	}
	if !bytes.Equal(hello.Random, v.hex(t, "server-random")) {
		t.Errorf("server random %x", hello.Random)
	}
	h, wrapped, _, err := ParseRecord(kexRec)
	if err != nil || h.Type != TypeKeyExchange {
		t.Fatalf("key exchange record: %v %v", h, err)
	}
	sessionKey, err := rsa.DecryptOAEP(sha256.New(), nil, key, wrapped, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sessionKey, v.hex(t, "session-key")) {
		t.Errorf("session key %x", sessionKey)
	}
	tr := Transcript(helloRec, kexRec)
	if !bytes.Equal(tr, v.hex(t, "transcript")) {
		t.Errorf("transcript %x", tr)
	}
	c2s, s2c, err := DeriveKeys(sessionKey, tr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c2s, v.hex(t, "client-to-server-key")) || !bytes.Equal(s2c, v.hex(t, "server-to-client-key")) {
		t.Errorf("keys %x %x", c2s, s2c)
	}
}

func checkDataVector(t *testing.T, v vector) {
	seq, err := strconv.ParseUint(v["seq"], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := AES128GCM().New(v.hex(t, "key"))
	if err != nil {
		t.Fatal(err)
	}
	want := v.hex(t, "record")
	got := sealRecord(rc, seq, []byte(v["plaintext"]))
	if !bytes.Equal(got, want) {
		t.Errorf("sealed\n got %x\nwant %x", got, want)
	}
	h, body, _, err := ParseRecord(want)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := rc.Open(nil, seq, want[:RecordHeaderLen], body)
	if err != nil || string(pt) != v["plaintext"] || h.Type != TypeData {
		t.Errorf("open: %q %v", pt, err)
	}
	if _, err := rc.Open(nil, seq+1, want[:RecordHeaderLen], body); err != ErrBadRecord {
		t.Errorf("open under the next sequence number: %v, want ErrBadRecord", err)
	}
}

// sealRecord builds one whole data record, as Conn.WriteMessages does.
func sealRecord(rc RecordCipher, seq uint64, pt []byte) []byte {
	hdr := Header{Type: TypeData, Length: uint32(rc.SealedLen(len(pt)))}.Marshal(nil)
	return rc.Seal(append([]byte(nil), hdr...), seq, hdr, pt)
}

// writeVectors regenerates the vectors from the implementation. Run it
// only on purpose: the file is what other implementations check against.
func writeVectors(t *testing.T) {
	key := testKey(t, "server-key.pem")
	var b strings.Builder
	b.WriteString("# chatlab protocol test vectors. Hex unless noted. Server key: testdata/server-key.pem.\n")
	b.WriteString("# See PROTOCOL.md for the layouts and the key schedule.\n\n")
	random := make([]byte, RandomSize)
	for i := range random {
		random[i] = byte(0x20 + i)
	}
	helloBody, err := marshalHello(&key.PublicKey, SuiteAES128GCM, random)
	if err != nil {
		t.Fatal(err)
	}
	helloRec := AppendRecord(nil, TypeHello, helloBody)
	sessionKey, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &key.PublicKey, sessionKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	kexRec := AppendRecord(nil, TypeKeyExchange, wrapped)
	tr := Transcript(helloRec, kexRec)
	c2s, s2c, err := DeriveKeys(sessionKey, tr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "name: handshake\nkind: handshake\nfingerprint: %s\nserver-random: %x\nhello-record: %x\nsession-key: %x\nkey-exchange-record: %x\ntranscript: %x\nclient-to-server-key: %x\nserver-to-client-key: %x\n\n",
		FingerprintDER(helloBody[KeyOffset(Version):]), random, helloRec, sessionKey, kexRec, tr, c2s, s2c)
	data := []struct {
		name string
		key  []byte
		seq  uint64
		pt   string
	}{
		{"client name, seq 0", c2s, 0, "alice"},
		{"client message, seq 1", c2s, 1, "hello bob"},
		{"server line, seq 0", s2c, 0, "* you are alice; in the room: alice; /help lists commands"},
		{"server line, seq 7", s2c, 7, "bob: hi alice"},
		{"empty plaintext", c2s, 2, ""},
	}
	for _, d := range data {
		rc, err := AES128GCM().New(d.key)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "name: %s\nkind: data\nkey: %x\nseq: %d\nplaintext: %s\nrecord: %x\n\n", d.name, d.key, d.seq, d.pt, sealRecord(rc, d.seq, []byte(d.pt)))
	}
	if err := os.WriteFile(vectorsPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func hexDecode(s string) ([]byte, error) { return hex.DecodeString(s) }
