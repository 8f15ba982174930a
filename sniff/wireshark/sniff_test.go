package wireshark_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"chatlab/protocol"
	"chatlab/sniff"
	"chatlab/sniff/event"
)

// unitSink keeps a copy of every unit sniff emits: the Tap reuses one
// Unit, so each is turned into fields as it comes.
type unitSink struct {
	units []unit
}

func (s *unitSink) Emit(e event.Event) {
	if u, ok := e.(*event.Unit); ok && u.Kind != event.KindRaw {
		s.units = append(s.units, unit{u.Packet, sniffFields(u)})
	}
}

// sniffUnits runs sniff's own dissector on a capture: the comparison the
// Lua dissector must pass is against sniff itself.
func sniffUnits(t *testing.T, path string) []unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, link, err := sniff.OpenFile(f)
	if err != nil {
		t.Fatal(err)
	}
	var sink unitSink
	if _, err := sniff.Run(context.Background(), src, link, sniff.Config{Sink: &sink}); err != nil {
		t.Fatal(err)
	}
	return sink.units
}

var messageKinds = map[event.MessageKind]string{
	event.MsgText: "message", event.MsgName: "name", event.MsgCommand: "command",
	event.MsgChat: "chat", event.MsgNotice: "notice", event.MsgLine: "line",
}

// sniffFields names a unit's fields as the Lua dissector's filter names,
// valued as tshark prints them.
func sniffFields(u *event.Unit) map[string]string {
	out := map[string]string{}
	bytesOf := func(f event.Field) string { return hex.EncodeToString(u.Bytes[f.Off : f.Off+f.Len]) }
	secure := u.Kind == event.KindHello || u.Kind == event.KindKeyExchange || u.Kind == event.KindRecord
	if secure {
		out["chatlab.record"] = strconv.Itoa(u.Number)
	}
	if u.Kind == event.KindLegacyFrame {
		out["chatlab_c.frame"] = strconv.Itoa(u.Number)
	}
	if u.Kind == event.KindLegacyKey {
		out["chatlab_c.pem"] = strings.ReplaceAll(string(u.Bytes), "\n", `\n`)
	}
	for _, f := range u.Fields {
		switch {
		case u.Kind == event.KindLine && f.Name == "text":
			out["chatlab.line"] = string(u.Bytes[f.Off : f.Off+f.Len])
		case secure && (f.Name == "type" || f.Name == "suite"):
			out["chatlab."+f.Name] = fmt.Sprintf("0x%02x", f.Num)
		case secure && (f.Name == "length" || f.Name == "version" || f.Name == "seq"):
			out["chatlab."+f.Name] = strconv.FormatUint(f.Num, 10)
		case secure && f.Name == "magic":
			out["chatlab.magic"] = f.Text
		case secure && f.Name == "public key":
			out["chatlab.key_bits"], out["chatlab.fingerprint"] = strconv.FormatUint(f.Num, 10), f.Text
		case secure && f.Name == "wrapped key":
			out["chatlab.wrapped_key"] = bytesOf(f)
		case secure && (f.Name == "nonce" || f.Name == "iv" || f.Name == "ciphertext" || f.Name == "tag"):
			out["chatlab."+f.Name] = bytesOf(f)
		case u.Kind == event.KindLegacyKey && f.Name == "public key":
			out["chatlab_c.key_bits"], out["chatlab_c.fingerprint"] = strconv.FormatUint(f.Num, 10), f.Text
		case u.Kind == event.KindLegacyKex && f.Name == "wrapped key":
			out["chatlab_c.wrapped_key"] = bytesOf(f)
		case u.Kind == event.KindLegacyFrame && (f.Name == "iv" || f.Name == "ciphertext"):
			out["chatlab_c."+f.Name] = bytesOf(f)
		}
	}
	if m := u.Message; u.Kind == event.KindLine && m != nil {
		out["chatlab.kind"] = messageKinds[m.Kind]
		out["chatlab.text"] = m.Text
		switch m.Kind {
		case event.MsgNotice:
			// sniff keeps the "* " of a notice; the Lua text is what follows.
			out["chatlab.text"] = strings.TrimPrefix(m.Text, "* ")
		case event.MsgName:
			out["chatlab.name"] = m.Text
		case event.MsgChat:
			out["chatlab.name"] = m.From
		}
	}
	for _, w := range u.Warnings {
		if w.Kind != event.WarnIVReuse {
			continue
		}
		if u.Kind == event.KindLegacyFrame {
			out["chatlab_c.iv_reused"] = strconv.Itoa(w.Ref)
			out[expertField] = fmt.Sprintf("IV reuse: same IV as frame %d", w.Ref)
		} else {
			out["chatlab.nonce_reused"] = strconv.Itoa(w.Ref)
			out[expertField] = fmt.Sprintf("Nonce reuse: same nonce as record %d under the same key", w.Ref)
		}
	}
	return out
}

// onlyFields keeps, of the Lua dissector's output, the fields sniff has:
// the key exchange's transcript hash and the weak suites' counter are the
// Lua dissector's own, checked against the reference instead.
func onlyFields(got map[int]map[string][]string, drop ...string) map[int]map[string][]string {
	for _, fields := range got {
		for _, d := range drop {
			delete(fields, d)
		}
	}
	return got
}

// TestDissectorMatchesSniff runs sniff's own dissector and the Lua one on
// every capture and checks they find the same units in the same packets,
// with the same fields.
func TestDissectorMatchesSniff(t *testing.T) {
	needTshark(t)
	plugin := pluginFile(t)
	total := map[string]int{}
	for _, capture := range goldenCaptures {
		t.Run(strings.TrimSuffix(strings.TrimPrefix(capture[strings.LastIndex(capture, "/")+1:], ""), ".pcap"), func(t *testing.T) {
			want := sniffUnits(t, capture)
			if len(want) == 0 {
				t.Fatal("sniff found nothing")
			}
			got := onlyFields(luaUnits(t, plugin, capture), "chatlab.transcript", "chatlab.counter")
			for k, n := range compareUnits(t, capture, want, got) {
				total[k] += n
			}
		})
	}
	t.Logf("values compared: %v", total)
}

// The key log that chat writes is the one sniff reads.
var _ sniff.KeyLog = protocol.KeyLog{}

// TestKeyLogOpensCapture: sniff given only a key log (the one in
// protocol's testdata, naming the vectors' session) reads the messages
// of a capture of that session.
func TestKeyLogOpensCapture(t *testing.T) {
	f, err := os.Open("../../protocol/testdata/keylog.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kl, err := protocol.ParseKeyLog(f)
	if err != nil {
		t.Fatal(err)
	}
	capture, err := os.Open("testdata/split.pcap")
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Close()
	src, link, err := sniff.OpenFile(capture)
	if err != nil {
		t.Fatal(err)
	}
	var texts messageSink
	if _, err := sniff.Run(context.Background(), src, link, sniff.Config{Sink: &texts, KeyLog: kl}); err != nil {
		t.Fatal(err)
	}
	want := "alice|hello bob, the password is hunter2|/who"
	if got := strings.Join(texts.opened, "|"); !strings.Contains(got, want) {
		t.Fatalf("opened with the key log: %q, want %q in it", got, want)
	}
}

// messageSink keeps the text of every message opened with a key log.
type messageSink struct{ opened []string }

func (s *messageSink) Emit(e event.Event) {
	if u, ok := e.(*event.Unit); ok && u.Message != nil && u.Message.Via == event.ViaKeyLog {
		s.opened = append(s.opened, u.Message.Text)
	}
}
