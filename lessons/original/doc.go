// Package original runs the C chat program that chatlab grew from, the
// real one built from its source, as a peer for tests and lessons: it
// builds the server and the client with gcc, runs a scripted conversation
// between them in a network namespace of its own (the program's port 1234
// is fixed), captures it with chatlab's own sniffer and returns the
// capture with the texts that were typed.
//
// The program is not part of chatlab and is never copied into it. Its
// source sits beside the project checkout (DefaultSource) with notes on
// its bugs, which this package lives with: stdin is kept open for the
// whole run (at the end of its input a side floods empty frames), both
// sides are killed by process id, and every step has a time limit.
//
// Running needs root (or CAP_SYS_ADMIN and CAP_NET_RAW) for the namespace
// and the capture; building needs gcc and OpenSSL's headers (Debian's gcc
// and libssl-dev).
package original
