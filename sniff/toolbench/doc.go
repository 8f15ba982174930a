// Package toolbench times sniff against tcpdump and tshark on the same
// captures, in one run, and tests live capture under chat load with
// tcpdump capturing alongside. It holds only its benchmark:
//
//	go test -run '^$' -bench Tools -benchtime 1x ./sniff/toolbench/
//
// It needs root (or CAP_NET_RAW) and tcpdump and tshark; it builds the
// sniff binary itself. TOOLBENCH_MESSAGES sets the chat load (default
// 30000 messages of 1 KiB, one sender to one receiver), and so the size
// of the captures every comparison reads.
package toolbench
