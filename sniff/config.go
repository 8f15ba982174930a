package sniff

import (
	"crypto/rsa"
	"io"
	"time"

	"chatlab/sniff/dump"
	"chatlab/sniff/filter"
)

// Config says what to show and how. The zero value prints plain text to
// nowhere: set Out.
type Config struct {
	// Out receives everything printed. It is buffered inside; Close (or
	// the end of Run) flushes it.
	Out io.Writer
	// Color turns on ANSI colours. The caller decides (a terminal, and no
	// NO_COLOR); nothing here looks at the environment.
	Color bool
	// Follow prints each connection as a conversation, one block per
	// message or record, instead of one line per TCP segment. A Tap always
	// prints conversations.
	Follow bool
	// Key is a chatlab (or original C program) server's private key. With
	// it, connections seen from their first byte are decrypted, as
	// Wireshark does for old RSA-key-transport TLS.
	Key *rsa.PrivateKey
	// Cribs are plaintexts a passive eavesdropper guesses ("alice",
	// "hello"), used to recover more of a reused keystream.
	Cribs []string
	// Stats prints the per-connection and plain-versus-secure summary at
	// the end.
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
	// Live makes Run flush its output after every packet, for a person
	// watching a live capture.
	Live bool
}
