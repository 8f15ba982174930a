package chat

import "strings"

// Banner is the first line a plain-mode server sends. It tells a person on
// netcat what to do, and tells a secure client that it reached a plain
// server.
const Banner = "* chatlab plain mode: everything you type is readable on the wire. Send your name as the first line."

// NoticePrefix starts every line the server itself writes.
const NoticePrefix = "* "

// Line is one line from the server: a member's message or a notice.
type Line struct {
	Notice bool   // a server notice ("* bob joined")
	From   string // the sender, for a message
	Text   string
}

// ParseLine splits a server line into its parts. Lines in neither form
// come back as notices, so nothing is ever lost.
func ParseLine(s string) Line {
	if rest, ok := strings.CutPrefix(s, NoticePrefix); ok {
		return Line{Notice: true, Text: rest}
	}
	if from, text, ok := strings.Cut(s, ": "); ok && from != "" && !strings.ContainsAny(from, " *") {
		return Line{From: from, Text: text}
	}
	return Line{Notice: true, Text: s}
}

// String is the line's wire and display form.
func (l Line) String() string {
	if l.Notice {
		return NoticePrefix + l.Text
	}
	return l.From + ": " + l.Text
}

func notice(text string) string { return NoticePrefix + text }
