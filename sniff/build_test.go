package sniff

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
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

// write is one write on a TCP stream.
type write struct {
	fromClient bool
	data       []byte
}

// scenario is a conversation the tests put in a pcap and feed to a Tap.
type scenario struct {
	name           string
	client, server netip.AddrPort
	events         []write
	// midstream leaves out the handshake, as a capture begun after the
	// connection opened would.
	midstream bool
}

// mss splits long writes into segments, as loopback would not, so the
// dissectors see records that span segments.
const mss = 200

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// pcapBuilder writes conversations as Ethernet frames with a fixed clock.
type pcapBuilder struct {
	w       *pcapgo.Writer
	now     time.Time
	packets int
}

func newPCAPBuilder(t testing.TB, out *bytes.Buffer) *pcapBuilder {
	w := pcapgo.NewWriter(out)
	if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	return &pcapBuilder{w: w, now: epoch}
}

func (b *pcapBuilder) packet(t testing.TB, src, dst netip.AddrPort, tcp layers.TCP, payload []byte) {
	b.now = b.now.Add(1500 * time.Microsecond)
	b.packets++
	tcp.SrcPort, tcp.DstPort = layers.TCPPort(src.Port()), layers.TCPPort(dst.Port())
	tcp.Window = 65535
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&layers.Ethernet{EthernetType: layers.EthernetTypeIPv4, SrcMAC: make(net.HardwareAddr, 6), DstMAC: make(net.HardwareAddr, 6)},
		ip, &tcp, gopacket.Payload(payload))
	if err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: b.now, CaptureLength: len(data), Length: len(data)}
	if err := b.w.WritePacket(ci, data); err != nil {
		t.Fatal(err)
	}
}

// conversation writes a whole connection: handshake (unless s.midstream),
// the events (each acknowledged), and the close.
func (b *pcapBuilder) conversation(t testing.TB, s scenario) {
	cs, ss := uint32(1000), uint32(5000)
	c, sv := s.client, s.server
	if !s.midstream {
		b.packet(t, c, sv, layers.TCP{SYN: true, Seq: cs}, nil)
		b.packet(t, sv, c, layers.TCP{SYN: true, ACK: true, Seq: ss, Ack: cs + 1}, nil)
	}
	cs++
	ss++
	if !s.midstream {
		b.packet(t, c, sv, layers.TCP{ACK: true, Seq: cs, Ack: ss}, nil)
	}
	for _, e := range s.events {
		for off := 0; off < len(e.data); off += mss {
			seg := e.data[off:min(off+mss, len(e.data))]
			if e.fromClient {
				b.packet(t, c, sv, layers.TCP{PSH: true, ACK: true, Seq: cs, Ack: ss}, seg)
				cs += uint32(len(seg))
				b.packet(t, sv, c, layers.TCP{ACK: true, Seq: ss, Ack: cs}, nil)
			} else {
				b.packet(t, sv, c, layers.TCP{PSH: true, ACK: true, Seq: ss, Ack: cs}, seg)
				ss += uint32(len(seg))
				b.packet(t, c, sv, layers.TCP{ACK: true, Seq: cs, Ack: ss}, nil)
			}
		}
	}
	b.packet(t, c, sv, layers.TCP{FIN: true, ACK: true, Seq: cs, Ack: ss}, nil)
	b.packet(t, sv, c, layers.TCP{FIN: true, ACK: true, Seq: ss, Ack: cs + 1}, nil)
	b.packet(t, c, sv, layers.TCP{ACK: true, Seq: cs + 1, Ack: ss + 1}, nil)
}

func loadTestKey(t testing.TB) *rsa.PrivateKey {
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

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func lines(fromClient bool, ls ...string) []write {
	var out []write
	for _, l := range ls {
		out = append(out, write{fromClient, []byte(l + "\n")})
	}
	return out
}

func plainScenario() scenario {
	var ev []write
	ev = append(ev, lines(false, "* welcome to chatlab (plain mode). Who are you?")...)
	ev = append(ev, lines(true, "alice", "hello bob, the password is hunter2", "/who")...)
	ev = append(ev, lines(false, "alice: hello bob, the password is hunter2", "* online: alice bob")...)
	return scenario{name: "plain", client: ap("127.0.0.1:40001"), server: ap("127.0.0.1:9000"), events: ev}
}

// secureScenario uses the handshake from protocol's test vectors, so the
// capture is the same on every run and --key opens it.
func secureScenario(t testing.TB) scenario {
	v := handshakeVector(t)
	c2sKey, s2cKey := v["client-to-server-key"], v["server-to-client-key"]
	ev := []write{{false, v["hello-record"]}, {true, v["key-exchange-record"]}}
	ev = append(ev, sealAll(t, protocol.AES128GCM(), s2cKey, false, "* welcome to chatlab (secure mode). Who are you?")...)
	ev = append(ev, sealAll(t, protocol.AES128GCM(), c2sKey, true, "alice", "hello bob, the password is hunter2", "/who")...)
	return scenario{name: "secure", client: ap("127.0.0.1:40002"), server: ap("127.0.0.1:9000"), events: ev}
}

// sealAll seals lines as consecutive records of one direction.
func sealAll(t testing.TB, suite protocol.CipherSuite, key []byte, fromClient bool, ls ...string) []write {
	rc, err := suite.New(key)
	if err != nil {
		t.Fatal(err)
	}
	var out []write
	for seq, l := range ls {
		h := protocol.Header{Type: protocol.TypeData, Length: uint32(rc.SealedLen(len(l)))}.Marshal(nil)
		out = append(out, write{fromClient, rc.Seal(h, uint64(seq), h, []byte(l))})
	}
	return out
}

func handshakeVector(t testing.TB) map[string][]byte {
	f, err := os.Open("../protocol/testdata/vectors.txt")
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
		if b, err := hex.DecodeString(v); err == nil && v != "" && k != "name" && k != "kind" {
			out[k] = b
		}
	}
	return out
}

// weakScenario is a secure connection on the fixed-nonce suite. Its key
// exchange is random, so the pcap made from it is kept in testdata.
func weakScenario(t testing.TB) scenario {
	return weakSession(t, "weak", ap("127.0.0.1:40003"), []string{"alice", "hello bob", "meet me at noon", "hello carol"}, nil)
}

// weakSession is a connection on the fixed-nonce suite: the hello, the key
// exchange, the client's lines and then the server's, each direction
// under its own key.
func weakSession(t testing.TB, name string, client netip.AddrPort, fromClient, fromServer []string) scenario {
	key := loadTestKey(t)
	body, err := protocol.MarshalHello(&key.PublicKey, protocol.SuiteFixedIVGCM)
	if err != nil {
		t.Fatal(err)
	}
	hello := protocol.AppendRecord(nil, protocol.TypeHello, body)
	session := bytes.Repeat([]byte{7}, protocol.SessionKeySize)
	wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &key.PublicKey, session, nil)
	if err != nil {
		t.Fatal(err)
	}
	kex := protocol.AppendRecord(nil, protocol.TypeKeyExchange, wrapped)
	c2sKey, s2cKey, err := protocol.DeriveKeys(session, protocol.Transcript(hello, kex))
	if err != nil {
		t.Fatal(err)
	}
	ev := []write{{false, hello}, {true, kex}}
	ev = append(ev, sealAll(t, weak.FixedIVGCM(), c2sKey, true, fromClient...)...)
	ev = append(ev, sealAll(t, weak.FixedIVGCM(), s2cKey, false, fromServer...)...)
	return scenario{name: name, client: client, server: ap("127.0.0.1:9000"), events: ev}
}

// legacyMessages is the conversation in the original program's format.
var legacyMessages = []struct {
	fromClient bool
	m          legacy.Message
}{
	{true, legacy.Message{Name: "alice", Text: "hi bob"}},
	{false, legacy.Message{Name: "bob", Text: "hello alice"}},
	{true, legacy.Message{Name: "alice", Text: "the meeting is at noon"}},
	{false, legacy.Message{Name: "bob", Text: "ok"}},
	{true, legacy.Message{Name: "alice", Text: "bring the report"}},
	{false, legacy.Message{Name: "bob", Text: "see you"}},
}

// legacyScenario builds the original program's traffic: PEM key in the
// clear, OAEP blob, zero-IV tagless frames under one key.
func legacyScenario(t testing.TB) scenario {
	key := loadTestKey(t)
	pemKey, err := legacy.MarshalPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	session := []byte("0123456789abcdef")
	wrapped, err := legacy.WrapKey(rand.Reader, &key.PublicKey, session)
	if err != nil {
		t.Fatal(err)
	}
	ev := []write{{false, pemKey}, {true, wrapped}}
	for _, lm := range legacyMessages {
		frame, err := legacy.SealFrame(session, lm.m)
		if err != nil {
			t.Fatal(err)
		}
		ev = append(ev, write{lm.fromClient, frame})
	}
	return scenario{name: "legacy", client: ap("127.0.0.1:40004"), server: ap("127.0.0.1:1234"), events: ev}
}
