// Package protocol is chatlab's wire format: plain text lines, the secure
// handshake (RSA-2048 key transport, then AES-128-GCM records), the limits
// that keep a peer from making us allocate or wait without bound, and the
// server identity checks (fingerprints and the known-servers file).
//
// The byte layout of every message is written down in PROTOCOL.md beside
// this file; testdata/ holds vectors that a second implementation can check
// itself against.
//
// Everything here is safe to use from one reader goroutine and one writer
// goroutine per connection, which is how the chat server and client use it.
package protocol
