package weak

import (
	"bytes"
	"errors"
	"testing"

	"chatlab/protocol"
)

var key = []byte("0123456789abcdef")

func seal(t *testing.T, rc protocol.RecordCipher, seq uint64, pt string) (hdr, body []byte) {
	t.Helper()
	hdr = protocol.Header{Type: protocol.TypeData, Length: uint32(rc.SealedLen(len(pt)))}.Marshal(nil)
	body = rc.Seal(nil, seq, hdr, []byte(pt))
	if len(body) != rc.SealedLen(len(pt)) {
		t.Fatalf("SealedLen %d, sealed %d", rc.SealedLen(len(pt)), len(body))
	}
	return hdr, body
}

func TestFixedIVRepeatsCiphertext(t *testing.T) {
	rc, err := FixedIVGCM().New(key)
	if err != nil {
		t.Fatal(err)
	}
	_, a := seal(t, rc, 0, "attack at dawn")
	_, b := seal(t, rc, 1, "attack at dawn")
	ctA, ctB := a[protocol.NonceSize:len(a)-protocol.TagSize], b[protocol.NonceSize:len(b)-protocol.TagSize]
	if !bytes.Equal(ctA, ctB) {
		t.Fatal("the same text under a fixed IV gave different ciphertexts")
	}
	if !bytes.Equal(a[:protocol.NonceSize], make([]byte, protocol.NonceSize)) {
		t.Fatalf("nonce %x is not all zero", a[:protocol.NonceSize])
	}
	// Keystream reuse: c1 ^ c2 = p1 ^ p2.
	_, c := seal(t, rc, 2, "retreat at six")
	ctC := c[protocol.NonceSize : len(c)-protocol.TagSize]
	p1, p2 := []byte("attack at dawn"), []byte("retreat at six")
	for i := range p1 {
		if ctA[i]^ctC[i] != p1[i]^p2[i] {
			t.Fatalf("byte %d: xor of ciphertexts is not xor of plaintexts", i)
		}
	}
	// The default suite never does this.
	gcm, _ := protocol.AES128GCM().New(key)
	_, d := seal(t, gcm, 0, "attack at dawn")
	_, e := seal(t, gcm, 1, "attack at dawn")
	if bytes.Equal(d[protocol.NonceSize:], e[protocol.NonceSize:]) {
		t.Fatal("the default suite repeated a ciphertext")
	}
}

func TestCBCFlipEditsPlaintextUndetected(t *testing.T) {
	rc, err := CBCNoMAC().New(key)
	if err != nil {
		t.Fatal(err)
	}
	hdr, body := seal(t, rc, 0, "pay 100 to bob")
	// Flipping IV byte 4 by '1'^'9' turns "pay 1" into "pay 9".
	body[4] ^= '1' ^ '9'
	got, err := rc.Open(nil, 0, hdr, body)
	if err != nil || string(got) != "pay 900 to bob" {
		t.Fatalf("got %q %v", got, err)
	}
	// The same edit on the default suite is refused.
	gcm, _ := protocol.AES128GCM().New(key)
	hdr, body = seal(t, gcm, 0, "pay 100 to bob")
	body[protocol.NonceSize+4] ^= '1' ^ '9'
	if _, err := gcm.Open(nil, 0, hdr, body); !errors.Is(err, protocol.ErrBadRecord) {
		t.Fatalf("GCM opened an edited record: %v", err)
	}
}

func TestCBCRoundTripAndPadding(t *testing.T) {
	rc, _ := CBCNoMAC().New(key)
	for n := 0; n < 40; n++ {
		pt := bytes.Repeat([]byte{'x'}, n)
		hdr, body := seal(t, rc, 0, string(pt))
		got, err := rc.Open(nil, 0, hdr, body)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%d bytes: %v", n, err)
		}
		for cut := 0; cut < len(body); cut++ {
			if _, err := rc.Open(nil, 0, hdr, body[:cut]); err == nil && cut%16 != 0 {
				t.Fatalf("%d of %d bytes opened", cut, len(body))
			}
		}
	}
}

func TestByName(t *testing.T) {
	for name, id := range map[string]protocol.SuiteID{"fixed-iv": protocol.SuiteFixedIVGCM, "cbc": protocol.SuiteCBCNoMAC} {
		s, err := ByName(name)
		if err != nil || s.ID() != id || !s.ID().Weak() {
			t.Errorf("%s: %v %v", name, s, err)
		}
	}
	if _, err := ByName("gcm"); err == nil {
		t.Error("ByName accepted a default suite name")
	}
	if protocol.SuiteAES128GCM.Weak() {
		t.Error("the default suite reports weak")
	}
}
