package main

import (
	"errors"
	"io"
	"reflect"
	"testing"

	"chatlab/cmd/internal/cli"
	"chatlab/sniff/render"
)

func TestExpandGroups(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"-nnX", "port", "9000"}, []string{"-n", "-n", "-X", "port", "9000"}},
		{[]string{"-qn", "-r", "f"}, []string{"-q", "-n", "-r", "f"}},
		{[]string{"-r", "f", "-X"}, []string{"-r", "f", "-X"}},
		{[]string{"--follow", "-c", "5"}, []string{"--follow", "-c", "5"}},
		{[]string{"--", "-nn"}, []string{"--", "-nn"}},
		{[]string{"-w", "-"}, []string{"-w", "-"}},
	} {
		if got := expandGroups(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("expandGroups(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestTcpdumpCommandLines parses the command lines a tcpdump user types.
func TestTcpdumpCommandLines(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		check func(*options) bool
	}{
		{[]string{"-i", "lo", "port", "9000"}, func(o *options) bool { return o.iface == "lo" && o.filter != nil }},
		{[]string{"lo", "port", "9000"}, func(o *options) bool { return o.iface == "lo" }},
		{[]string{"-nn", "-i", "lo", "port 9000 or port 9001"}, func(o *options) bool { return o.iface == "lo" }},
		{[]string{"-nnX", "-r", "f.pcap"}, func(o *options) bool { return o.dumps == render.DumpHexASCII && o.read == "f.pcap" }},
		{[]string{"-x", "-r", "f.pcap"}, func(o *options) bool { return o.dumps == render.DumpHex }},
		{[]string{"-A", "-r", "f.pcap"}, func(o *options) bool { return o.dumps == render.DumpASCII }},
		{[]string{"-X", "-A", "-r", "f"}, func(o *options) bool { return o.dumps == render.DumpASCII }},
		{[]string{"-q", "-l", "-U", "-v", "-r", "f"}, func(o *options) bool { return o.quiet && o.lineBuffered && o.packetBuffered }},
		{[]string{"-s", "96", "-B", "4096"}, func(o *options) bool { return o.snaplen == 96 && o.bufferKiB == 4096 }},
		{[]string{"-w", "-"}, func(o *options) bool { return o.write == "-" }},
		{[]string{"-r", "-", "not", "port", "22"}, func(o *options) bool { return o.read == "-" }},
		{[]string{"-D"}, func(o *options) bool { return o.list }},
		{[]string{"--version"}, func(o *options) bool { return o.version }},
		{[]string{"port", "9000", "--follow", "--stats"}, func(o *options) bool { return o.follow && o.stats }},
	} {
		o, err := parseFlags(tc.args, io.Discard)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if !tc.check(o) {
			t.Errorf("%q parsed as %+v", tc.args, o)
		}
	}
}

func TestCommandLineMistakes(t *testing.T) {
	for _, args := range [][]string{
		{"-c", "0"}, {"-s", "-1"}, {"-s", "999999"}, {"-B", "0"}, {"-r", "f", "-i", "lo"},
		{"--nosuch"}, {"-c"}, {"port"}, {"port", "9000", "or"},
	} {
		_, err := parseFlags(args, io.Discard)
		var ue *cli.UsageError
		if !errors.As(err, &ue) || ue.Hint == "" {
			t.Errorf("%q: got %v, want a usage error with a hint", args, err)
		}
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, cli.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}
