// Package chat is the chatlab group chat: a server with one room that many
// members share, and the client engine that the chat command, the lessons
// and the benchmarks drive. Both work in plain mode (text lines anyone on
// the path can read) and in secure mode (the records of package protocol).
//
// Each member has a reader goroutine and a writer goroutine, like the two
// threads of the program chatlab grew from, and a bounded outbound queue:
// a member that cannot keep up is dropped instead of slowing the room.
//
// In secure mode the server opens every record and seals it again for each
// member, so the server reads every message. That is how a hub-and-spoke
// chat with transport encryption works; only end-to-end encryption between
// the members would hide the text from the server too.
package chat
