package sniff

import (
	"crypto/rsa"
	"io"
	"time"

	"chatlab/sniff/dump"
	"chatlab/sniff/event"
	"chatlab/sniff/filter"
	"chatlab/sniff/render"
)

// KeyLog looks up the session key of a secure connection by the hash of
// its handshake, protocol.Transcript of the hello and key exchange
// records, as a key log file names it. *protocol.KeyLog is one.
type KeyLog interface {
	Lookup(transcript []byte) ([]byte, bool)
}

// Config says what to dissect and where to show it. The zero value
// dissects and shows nothing: set Out, Sink or both.
type Config struct {
	// Out, if set, receives the terminal view. It is buffered inside;
	// Close (or the end of Run) flushes it.
	Out io.Writer
	// Sink, if set, receives every event as well: a web view, pcapng
	// comments, a test.
	Sink event.Sink
	// Color turns on ANSI colours. The caller decides (a terminal, and no
	// NO_COLOR); nothing here looks at the environment.
	Color bool
	// Dumps adds hex dumps to the terminal view: each unit's bytes with
	// Follow, each packet's as tcpdump -x, -X and -A print them without.
	Dumps render.Dump
	// Quiet shows one line per segment and no payload (tcpdump -q).
	Quiet bool
	// Follow prints each connection as a conversation, one block per
	// message or record, instead of one line per TCP segment. A Tap always
	// prints conversations.
	Follow bool
	// Key is a chatlab (or original C program) server's private key. With
	// it, connections seen from their first byte are decrypted, as
	// Wireshark does for old RSA-key-transport TLS.
	Key *rsa.PrivateKey
	// KeyLog finds the session key of a secure connection from its
	// handshake, as a key log file does for TLS. It is tried before Key.
	KeyLog KeyLog
	// Cribs are plaintexts a passive eavesdropper guesses ("alice",
	// "hello"), used to recover more of a reused keystream.
	Cribs []string
	// Stats sends the per-connection and plain-versus-secure summary at
	// the end. Without it no byte is looked at twice for statistics.
	Stats bool
	// Location is the time zone of segment timestamps; nil means local
	// time, as tcpdump prints them.
	Location *time.Location

	// Filter keeps only matching segments (Run only); nil keeps all TCP.
	Filter *filter.Filter
	// Count stops Run after this many segments; zero means no limit.
	Count int
	// Dump, if set, receives every segment Run shows, as a pcap file
	// (or pcapng, as DumpFormat says).
	Dump io.Writer
	// DumpFormat is Dump's file format.
	DumpFormat dump.Format
	// Live says src is a live capture, whose kernel already ran Filter.
	Live bool
	// Notes are more comment lines for an annotated (pcapng) -w file, by
	// packet number: what RecoveryNotes found.
	Notes map[int][]string
	// PacketBuffered flushes the -w file after every packet (tcpdump
	// -U); a live capture's file is flushed whenever the capture is
	// idle anyway.
	PacketBuffered bool
	// PipeStats, if set, receives a live capture's pipeline counts at
	// the end: what the display skipped to keep up.
	PipeStats *PipeStats
	// LineBuffered flushes the output after every packet, for a person
	// watching (or -l); otherwise it goes out in large writes.
	LineBuffered bool
}
