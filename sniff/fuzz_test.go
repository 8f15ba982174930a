package sniff

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// seedPackets adds every packet of the testdata captures to f.
func seedPackets(f *testing.F, add func(data []byte)) {
	paths, _ := filepath.Glob("testdata/*.pcap")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		src, _, err := OpenFile(bytes.NewReader(data))
		if err != nil {
			f.Fatal(err)
		}
		for {
			pkt, _, err := src.ReadPacketData()
			if err != nil {
				break
			}
			add(pkt)
		}
	}
}

// onePacket is a PacketDataSource holding a single frame.
type onePacket struct {
	data []byte
	done bool
}

func (o *onePacket) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	if o.done {
		return nil, gopacket.CaptureInfo{}, io.EOF
	}
	o.done = true
	return o.data, gopacket.CaptureInfo{CaptureLength: len(o.data), Length: len(o.data)}, nil
}

// FuzzDecodePacket runs arbitrary frames through decoding, the segment
// printer and Follow's reassembly: nothing may panic.
func FuzzDecodePacket(f *testing.F) {
	seedPackets(f, func(p []byte) { f.Add(p) })
	key := loadTestKey(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, follow := range []bool{false, true} {
			cfg := Config{Out: io.Discard, Follow: follow, Key: key, Stats: true}
			if _, err := Run(context.Background(), &onePacket{data: data}, layers.LinkTypeEthernet, cfg); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzDissect feeds arbitrary bytes as both directions of a stream, in
// two chunks each, to every dissector: nothing may panic.
func FuzzDissect(f *testing.F) {
	for _, s := range []scenario{plainScenario(), secureScenario(f), legacyScenario(f), weakScenario(f)} {
		var c2sData, s2cData []byte
		for _, e := range s.events {
			if e.fromClient {
				c2sData = append(c2sData, e.data...)
			} else {
				s2cData = append(s2cData, e.data...)
			}
		}
		f.Add(s2cData, c2sData, uint16(7))
	}
	key := loadTestKey(f)
	f.Fuzz(func(t *testing.T, fromServer, fromClient []byte, split uint16) {
		tap := NewTap(Config{Out: io.Discard, Key: key, Cribs: []string{"alice", "hello"}, Stats: true})
		cl, sv := ap("127.0.0.1:40000"), ap("127.0.0.1:9000")
		cut := func(b []byte) ([]byte, []byte) {
			n := int(split) % (len(b) + 1)
			return b[:n], b[n:]
		}
		s1, s2 := cut(fromServer)
		c1, c2 := cut(fromClient)
		tap.Data(cl, sv, false, s1)
		tap.Data(cl, sv, true, c1)
		tap.Data(cl, sv, false, s2)
		tap.Data(cl, sv, true, c2)
		if err := tap.Close(); err != nil {
			t.Fatal(err)
		}
		st := tap.Stats()
		if len(st) != 1 || st[0].Bytes != len(fromServer)+len(fromClient) {
			t.Fatalf("stats %+v for %d bytes", st, len(fromServer)+len(fromClient))
		}
	})
}
