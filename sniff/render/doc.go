// Package render turns sniff's events into text for people: the compact
// terminal view (the default, made for a projector: labelled fields and
// at most one short hex line per unit), the full dumps of -x, -X and -A,
// the statistics table, and one-line summaries for pcapng packet
// comments. It never parses bytes: the dissectors say what each byte
// range is, and this package only decides how it looks.
package render
