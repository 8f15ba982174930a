// Package lessons is chatlab's classroom walkthrough: lesson texts in
// Markdown (embedded from NN-slug.md beside this file) and, for each, a
// live scenario that runs the real chat server, clients, sniffer and
// attacker relay in this process on 127.0.0.1, shows side by side what a
// member typed and what an eavesdropper sees on the wire, and checks the
// lesson's claim.
//
// The eavesdropper captures loopback packets live when the process may
// (root or CAP_NET_RAW). Otherwise it watches through an in-process relay
// that hands every byte to the sniffer, so a student needs no privileges.
package lessons
