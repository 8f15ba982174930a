// Package web is sniff's live view in a browser: an event.Sink that turns
// the dissectors' events into small JSON messages, keeps the recent ones,
// and an http.Handler that serves an embedded page and streams the
// messages to it as server-sent events.
//
// The page shows each connection as a column of messages (plain: the
// text; secure: the record's fields, and the text a key opened), a
// message's bytes in a hex and ASCII pane with its fields in the colours
// of their labels, per connection a byte-value histogram with its entropy
// and printable share, and the warnings where they happen. A lesson can
// show its text beside it, section by section.
//
// # The stream
//
// GET /events is a text/event-stream. Every message is one "data:" line
// holding one JSON object, whose "type" says what it is. A stream starts
// with "start", then the state so far (every "conn", the "lesson" and its
// "section", the latest "stats", "capture"), then the recent history
// ("unit", "warning", "recovery", "note", oldest first), then live
// messages as they happen. A page resets on "start", so a reconnect
// shows the same as a fresh load.
//
//	{"type":"start","title":"sniff lo port 9000","history":2000}
//	{"type":"conn","id":1,"client":"127.0.0.1:51000","server":"127.0.0.1:9000",
//	 "proto":"secure","protoName":"chatlab secure","fromStart":true}
//	{"type":"unit","conn":1,"dir":"c2s","dirName":"client → server","kind":"record",
//	 "kindName":"record","number":3,"packet":12,"size":42,
//	 "hex":"170000002500…","cut":false,
//	 "fields":[{"name":"type","off":0,"len":1,"show":"num","value":"23","num":23},
//	           {"name":"nonce","off":5,"len":12,"show":"hex","value":"000000000000000000000001"},
//	           {"name":"ciphertext","off":17,"len":9,"show":"size","value":"9 bytes"}, …],
//	 "keys":[{"name":"client → server key","hex":"d00a…","via":"opened with --key"}],
//	 "message":{"kind":"message","from":"","text":"hello bob","via":"opened with --key",
//	            "cut":false},
//	 "note":"","warnings":[{"kind":"iv-reuse","text":"…","ref":2}]}
//	{"type":"warning","conn":1,"dir":"c2s","kind":"bad-record","text":"…","ref":0}
//	{"type":"recovery","conn":1,"what":"record","iv":"…","seen":3,"kept":3,
//	 "keystream":40,"known":31,"says":["…"],
//	 "units":[{"number":2,"dir":"c2s","text":"hel·o bob","known":8,"size":9}]}
//	{"type":"stats","conn":1,"proto":"secure","protoName":"chatlab secure",
//	 "packets":14,"bytes":1203,"entropy":7.41,"printable":0.38,"ivReuse":0,
//	 "hist":[3,0,…256 counts…],"final":false,"small":false}
//	{"type":"capture","received":120,"dropped":0}
//	{"type":"lesson","title":"Lesson 1: …","sections":[{"heading":"…","body":"…"}]}
//	{"type":"section","index":2}
//	{"type":"note","text":"this page fell behind: 40 messages were dropped"}
//
// "hex" is the unit's bytes as they travelled, in lowercase hex, cut to
// maxUnitBytes ("cut" says so, "size" is the whole length); a field's
// "off" and "len" index those bytes. Connection 0 in "stats" sums the
// connections beyond the number a run dissects; in "warning" it means the
// whole capture. Text from the network is carried as JSON strings
// (invalid UTF-8 becomes U+FFFD) and the page shows it as text, never as
// markup.
package web
