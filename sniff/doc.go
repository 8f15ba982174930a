// Package sniff shows what chatlab puts on the wire. It decodes TCP
// segments from a live capture or a pcap/pcapng file, recognises the
// chatlab plain and secure protocols and the original C program's format
// by their content, labels every field, warns when an IV or nonce repeats
// under one key and shows what an eavesdropper recovers from that, and
// sums up each connection's entropy and printable ratio.
//
// Two ways in share one engine:
//
//   - Run reads packets from any gopacket.PacketDataSource (a live
//     AF_PACKET handle from OpenLive, or a file from OpenFile) and prints
//     one line per TCP segment, or whole conversations with Follow.
//   - A Tap is fed the bytes of each direction of a TCP stream directly,
//     with no capture at all, and prints them exactly as Run would with
//     Follow set. The lessons use it inside an in-process relay.
package sniff
