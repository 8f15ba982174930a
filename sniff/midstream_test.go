package sniff

import (
	"bytes"
	"strings"
	"testing"

	"chatlab/protocol/chat"
)

// TestMidConnectionName checks what a client's first line is called. A
// capture that saw the connection open, or the server's banner, knows it
// is the name; one begun after the client joined does not, and calls the
// first line it sees a message.
func TestMidConnectionName(t *testing.T) {
	tests := []struct {
		name      string
		midstream bool
		events    []write
		want      string
		notWant   string
	}{
		{
			name:      "joined after the name",
			midstream: true,
			events:    append(lines(true, "second message"), lines(false, "alice: second message")...),
			want:      `plain message "second message"`,
			notWant:   "plain name",
		},
		{
			name:      "joined before the banner",
			midstream: true,
			events:    append(lines(false, chat.Banner), lines(true, "alice", "hello")...),
			want:      `plain name "alice"`,
			notWant:   `plain name "hello"`,
		},
		{
			name:   "from the SYN",
			events: lines(true, "alice", "hello"),
			want:   `plain name "alice"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := scenario{client: ap("127.0.0.1:40006"), server: ap("127.0.0.1:9000"), events: tt.events, midstream: tt.midstream}
			var pcap bytes.Buffer
			newPCAPBuilder(t, &pcap).conversation(t, s)
			for _, follow := range []bool{false, true} {
				out, _ := runFile(t, pcap.Bytes(), Config{Follow: follow})
				if !strings.Contains(out, tt.want) || tt.notWant != "" && strings.Contains(out, tt.notWant) {
					t.Errorf("follow=%v: want %q and no %q:\n%s", follow, tt.want, tt.notWant, out)
				}
			}
		})
	}
}
