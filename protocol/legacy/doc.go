// Package legacy speaks the wire format of the original C chat program
// that chatlab replaces, so the lessons can put its traffic on loopback
// and the sniffer can be tested against it.
//
// The exchange, on TCP port 1234 in the original:
//
//  1. server → client: the server's RSA-2048 public key as PEM text, in
//     the clear ("-----BEGIN PUBLIC KEY-----" … "-----END PUBLIC KEY-----\n").
//  2. client → server: 256 bytes, a random AES-128 key wrapped with
//     RSA-OAEP. The original called OpenSSL with RSA_PKCS1_OAEP_PADDING,
//     which is OAEP with SHA-1 and MGF1-SHA-1; this package does the same
//     so its bytes match the original's.
//  3. both ways, every message: one fixed 268-byte frame, a 12-byte IV
//     followed by the 256 bytes of AES-128-GCM output for a 256-byte
//     plaintext, with the 16-byte tag dropped. The plaintext is the user
//     name NUL-padded to 20 bytes, then the text NUL-padded to 236.
//
// The original used the all-zero IV for every frame, in both directions,
// under one key. So every frame is XORed with the same 256-byte keystream,
// and with no tag nothing detects a change. This package keeps those
// mistakes on purpose: it exists to show them. Never use it to protect
// anything.
package legacy
