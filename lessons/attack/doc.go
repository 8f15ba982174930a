// Package attack is the lessons' attacker: a TCP relay that sits between a
// chat client and the server, shows what it sees, and can change it.
//
// Without any attack flag it is a transparent relay, and the lessons use
// it as an in-process wiretap when the machine does not let them capture
// packets. With flags it flips chosen bits in the client's data records,
// sends a recorded record again, or swaps the server's public key for its
// own and reads everything (a man in the middle).
//
// Only the client-to-server direction is altered; the server's records
// pass unchanged. Records are numbered per connection from 1, counting
// data records (secure mode) or lines (plain mode) from the client, so
// record 1 is the member's name and record 2 its first message.
package attack
