package wireshark_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"chatlab/protocol"
	"chatlab/protocol/legacy"
	"chatlab/protocol/weak"
)

var update = flag.Bool("update", false, "rewrite the captures in testdata")

// write is one write on a TCP connection.
type write struct {
	fromClient bool
	data       []byte
}

// conversation is one TCP connection to put in a capture.
type conversation struct {
	client, server netip.AddrPort
	writes         []write
	// coalesce sends consecutive writes of one direction as one, so
	// segments carry several records or lines.
	coalesce bool
	// cuts are segment sizes, used in turn, so records and lines break at
	// every kind of place: inside the header, the nonce, the tag.
	cuts []int
}

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// capture writes conversations as Ethernet frames with a fixed clock.
type capture struct {
	w   *pcapgo.Writer
	now time.Time
}

func newCapture(t testing.TB, out *bytes.Buffer) *capture {
	w := pcapgo.NewWriter(out)
	if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	return &capture{w: w, now: epoch}
}

func (c *capture) packet(t testing.TB, src, dst netip.AddrPort, tcp layers.TCP, payload []byte) {
	c.now = c.now.Add(time.Millisecond)
	tcp.SrcPort, tcp.DstPort = layers.TCPPort(src.Port()), layers.TCPPort(dst.Port())
	tcp.Window = 65535
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&layers.Ethernet{EthernetType: layers.EthernetTypeIPv4, SrcMAC: make(net.HardwareAddr, 6), DstMAC: make(net.HardwareAddr, 6)},
		ip, &tcp, gopacket.Payload(payload))
	if err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: c.now, CaptureLength: len(data), Length: len(data)}
	if err := c.w.WritePacket(ci, data); err != nil {
		t.Fatal(err)
	}
}

// add writes a whole connection: handshake, the writes cut into
// segments (each acknowledged), and the close.
func (c *capture) add(t testing.TB, cv conversation) {
	cs, ss := uint32(1000), uint32(5000)
	cl, sv := cv.client, cv.server
	c.packet(t, cl, sv, layers.TCP{SYN: true, Seq: cs}, nil)
	c.packet(t, sv, cl, layers.TCP{SYN: true, ACK: true, Seq: ss, Ack: cs + 1}, nil)
	cs++
	ss++
	c.packet(t, cl, sv, layers.TCP{ACK: true, Seq: cs, Ack: ss}, nil)
	writes := cv.writes
	if cv.coalesce {
		writes = coalesce(writes)
	}
	cut := 0
	for _, w := range writes {
		for off := 0; off < len(w.data); {
			n := min(cv.cuts[cut%len(cv.cuts)], len(w.data)-off)
			cut++
			seg := w.data[off : off+n]
			off += n
			if w.fromClient {
				c.packet(t, cl, sv, layers.TCP{PSH: true, ACK: true, Seq: cs, Ack: ss}, seg)
				cs += uint32(n)
				c.packet(t, sv, cl, layers.TCP{ACK: true, Seq: ss, Ack: cs}, nil)
			} else {
				c.packet(t, sv, cl, layers.TCP{PSH: true, ACK: true, Seq: ss, Ack: cs}, seg)
				ss += uint32(n)
				c.packet(t, cl, sv, layers.TCP{ACK: true, Seq: cs, Ack: ss}, nil)
			}
		}
	}
	c.packet(t, cl, sv, layers.TCP{FIN: true, ACK: true, Seq: cs, Ack: ss}, nil)
	c.packet(t, sv, cl, layers.TCP{FIN: true, ACK: true, Seq: ss, Ack: cs + 1}, nil)
	c.packet(t, cl, sv, layers.TCP{ACK: true, Seq: cs + 1, Ack: ss + 1}, nil)
}

func coalesce(ws []write) []write {
	var out []write
	for _, w := range ws {
		if n := len(out); n > 0 && out[n-1].fromClient == w.fromClient {
			out[n-1].data = append(out[n-1].data, w.data...)
			continue
		}
		out = append(out, write{w.fromClient, bytes.Clone(w.data)})
	}
	return out
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func textLines(fromClient bool, ls ...string) []write {
	var out []write
	for _, l := range ls {
		out = append(out, write{fromClient, []byte(l + "\n")})
	}
	return out
}

func plainWrites(banner string) []write {
	ws := textLines(false, banner)
	ws = append(ws, textLines(true, "alice", "hello bob, the password is hunter2", "/who")...)
	return append(ws, textLines(false, "alice: hello bob, the password is hunter2", "* online: alice bob", "* bob left")...)
}

// vectorHandshake is the first handshake of protocol's test vectors.
func vectorHandshake(t testing.TB) map[string][]byte {
	f, err := os.Open("../../protocol/testdata/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ": ")
		if k == "name" && len(out) > 0 {
			break
		}
		if b, err := hex.DecodeString(v); err == nil && v != "" {
			out[k] = b
		}
	}
	return out
}

// seal seals lines as consecutive records of one direction, from seq
// first on.
func seal(t testing.TB, suite protocol.CipherSuite, key []byte, fromClient bool, first uint64, ls ...string) []write {
	rc, err := suite.New(key)
	if err != nil {
		t.Fatal(err)
	}
	var out []write
	for i, l := range ls {
		h := protocol.Header{Type: protocol.TypeData, Length: uint32(rc.SealedLen(len(l)))}.Marshal(nil)
		out = append(out, write{fromClient, rc.Seal(h, first+uint64(i), h, []byte(l))})
	}
	return out
}

// secureWrites is a session on the vectors' handshake, so its records
// are the same on every run.
func secureWrites(t testing.TB) []write {
	v := vectorHandshake(t)
	ws := []write{{false, v["hello-record"]}, {true, v["key-exchange-record"]}}
	ws = append(ws, seal(t, protocol.AES128GCM(), v["server-to-client-key"], false, 0, "* welcome to chatlab (secure mode). Who are you?")...)
	ws = append(ws, seal(t, protocol.AES128GCM(), v["client-to-server-key"], true, 0, "alice", "hello bob, the password is hunter2", "/who")...)
	return append(ws, seal(t, protocol.AES128GCM(), v["server-to-client-key"], false, 1, "alice: hello bob, the password is hunter2", "* online: alice bob")...)
}

func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	data, err := os.ReadFile("../testdata/server-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := protocol.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// weakWrites is a session on a weak suite with a fresh key exchange.
func weakWrites(t testing.TB, suite protocol.CipherSuite) []write {
	key := testKey(t)
	body, err := protocol.MarshalHello(&key.PublicKey, suite.ID())
	if err != nil {
		t.Fatal(err)
	}
	hello := protocol.AppendRecord(nil, protocol.TypeHello, body)
	session := make([]byte, protocol.SessionKeySize)
	rand.Read(session)
	wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &key.PublicKey, session, nil)
	if err != nil {
		t.Fatal(err)
	}
	kex := protocol.AppendRecord(nil, protocol.TypeKeyExchange, wrapped)
	c2s, s2c, err := protocol.DeriveKeys(session, protocol.Transcript(hello, kex))
	if err != nil {
		t.Fatal(err)
	}
	ws := []write{{false, hello}, {true, kex}}
	ws = append(ws, seal(t, suite, c2s, true, 0, "alice", "hello bob", "meet me at noon", "hello bob")...)
	return append(ws, seal(t, suite, s2c, false, 0, "alice: hello bob", "alice: meet me at noon")...)
}

// legacyWrites is the original program's exchange.
func legacyWrites(t testing.TB) []write {
	key := testKey(t)
	pemKey, err := legacy.MarshalPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	session := make([]byte, legacy.KeySize)
	rand.Read(session)
	wrapped, err := legacy.WrapKey(rand.Reader, &key.PublicKey, session)
	if err != nil {
		t.Fatal(err)
	}
	ws := []write{{false, pemKey}, {true, wrapped}}
	for _, m := range []legacy.Message{
		{Name: "alice", Text: "hi bob"}, {Name: "alice", Text: "the meeting is at noon"},
		{Name: "bob", Text: "ok"}, {Name: "bob", Text: "see you"}, {Name: "alice", Text: "bring the report"},
	} {
		frame, err := legacy.SealFrame(session, m)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, write{m.Name == "alice", frame})
	}
	return ws
}

// splitCuts break every record and line: one byte, then part of a
// header, then odd lengths through nonces, texts and tags.
var splitCuts = []int{1, 3, 2, 17, 40, 7, 90}

// coalescedCuts are long enough to carry several records, lines or
// frames, and end inside the next one.
var coalescedCuts = []int{700, 333}

// captures are the conversations of the captures this package keeps in
// testdata, beside sniff's golden ones. The standard ports test the
// port registrations, the others the content heuristics.
func captures(t testing.TB) map[string][]conversation {
	return map[string][]conversation{
		"split": {
			{client: ap("127.0.0.1:41001"), server: ap("127.0.0.1:9000"), writes: secureWrites(t), cuts: splitCuts},
			{client: ap("127.0.0.1:41002"), server: ap("127.0.0.1:9000"), writes: plainWrites("* chatlab plain mode: Send your name as the first line."), cuts: splitCuts},
			{client: ap("127.0.0.1:41003"), server: ap("127.0.0.1:1234"), writes: legacyWrites(t), cuts: splitCuts},
			{client: ap("127.0.0.1:41004"), server: ap("127.0.0.1:9000"), writes: weakWrites(t, weak.CBCNoMAC()), cuts: splitCuts},
		},
		"coalesced": {
			{client: ap("127.0.0.1:42001"), server: ap("127.0.0.1:9100"), writes: secureWrites(t), coalesce: true, cuts: coalescedCuts},
			{client: ap("127.0.0.1:42002"), server: ap("127.0.0.1:9100"), writes: plainWrites("* welcome to chatlab (plain mode). Who are you?"), coalesce: true, cuts: coalescedCuts},
			{client: ap("127.0.0.1:42003"), server: ap("127.0.0.1:4321"), writes: legacyWrites(t), coalesce: true, cuts: coalescedCuts},
			{client: ap("127.0.0.1:42004"), server: ap("127.0.0.1:9100"), writes: weakWrites(t, weak.FixedIVGCM()), coalesce: true, cuts: coalescedCuts},
		},
	}
}

// TestWriteCaptures writes testdata/split.pcap and coalesced.pcap with
// -update. Their key exchanges are random, so they are kept as files.
func TestWriteCaptures(t *testing.T) {
	if !*update {
		t.Skip("the captures are rewritten only with -update")
	}
	for name, convs := range captures(t) {
		var out bytes.Buffer
		c := newCapture(t, &out)
		for _, cv := range convs {
			c.add(t, cv)
		}
		if err := os.WriteFile(filepath.Join("testdata", name+".pcap"), out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
