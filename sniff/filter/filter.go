// Package filter reads the capture filters sniff accepts, the part of
// tcpdump's language that makes sense for TCP ("port 9000 or port 9001",
// "not (src net 10.0.0.0/8)", "ip6 and portrange 9000-9010"), and
// compiles each to one classic BPF program per link type. The kernel runs
// that program for a live capture, and x/net/bpf's VM runs the same one
// on packets read from a file, so live and -r can never disagree.
package filter

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrSyntax is wrapped by every error for a filter that is not written
// correctly.
var ErrSyntax = errors.New("filter: syntax error")

// ErrUnsupported is wrapped by the error for a filter that tcpdump would
// take but sniff does not (udp, ether, byte expressions, host names...).
var ErrUnsupported = errors.New("filter: not supported")

// Dir says which end of a packet a primitive looks at.
type Dir uint8

// Directions, as tcpdump's qualifiers: "port 9000" with none (Either)
// means the source or the destination.
const (
	Either  Dir = iota
	Src         // src
	Dst         // dst
	SrcAndD     // src and dst: both ends
)

func (d Dir) String() string {
	return [...]string{"", "src ", "dst ", "src and dst "}[d]
}

// Version is the IP version a primitive asks for.
type Version uint8

// Versions: Any matches IPv4 and IPv6.
const (
	Any Version = iota
	V4          // ip
	V6          // ip6
)

// Filter is a parsed filter. Its zero value (and a nil *Filter) matches
// every TCP segment: every filter matches TCP only, because TCP is all
// sniff shows.
type Filter struct {
	root node
}

// node is one part of a filter expression.
type node interface{ String() string }

type (
	andNode struct{ l, r node }
	orNode  struct{ l, r node }
	notNode struct{ x node }
	// protoNode is "ip", "ip6" or "tcp" on its own.
	protoNode struct{ v Version } // Any: tcp
	// hostNode is "host ADDR" or "net CIDR" (a host is a /32 or /128).
	hostNode struct {
		dir  Dir
		net  netip.Prefix
		host bool
	}
	// portNode is "port N" or "portrange A-B".
	portNode struct {
		dir    Dir
		lo, hi uint16
		rng    bool
	}
)

func (n andNode) String() string { return operand(n.l, false) + " and " + operand(n.r, true) }
func (n orNode) String() string  { return operand(n.l, false) + " or " + operand(n.r, true) }
func (n notNode) String() string { return "not " + operand(n.x, true) }
func (n protoNode) String() string {
	return [...]string{"tcp", "ip", "ip6"}[n.v]
}
func (n hostNode) String() string {
	if n.host {
		return n.dir.String() + "host " + n.net.Addr().String()
	}
	return n.dir.String() + "net " + n.net.String()
}
func (n portNode) String() string {
	if n.rng {
		return fmt.Sprintf("%sportrange %d-%d", n.dir, n.lo, n.hi)
	}
	return fmt.Sprintf("%sport %d", n.dir, n.lo)
}

// operand writes n as a part of a larger expression: "and" and "or" have
// the same precedence and group from the left (as in tcpdump), so a
// right-hand or mixed group needs its parentheses.
func operand(n node, right bool) string {
	switch n.(type) {
	case andNode, orNode:
		if right {
			return "(" + n.String() + ")"
		}
	}
	return n.String()
}

// String returns the filter in the canonical form Parse reads back: ""
// for one that matches every TCP segment.
func (f *Filter) String() string {
	if f == nil || f.root == nil {
		return ""
	}
	return f.root.String()
}

// Limits on a filter, so no input makes the parser or the compiler work
// without bound.
const (
	// maxWords is far more than anyone types, and keeps the program
	// within the kernel's 4096 instructions.
	maxWords = 1000
	// maxDepth bounds nested parentheses and "not"s.
	maxDepth = 64
)

// Parse reads filter words as they come from the command line, as
// separate arguments or as one quoted argument, or both, as tcpdump
// does. No words means every TCP segment.
func Parse(args []string) (*Filter, error) {
	toks, err := tokenize(args)
	if err != nil {
		return nil, err
	}
	if len(toks) > maxWords {
		return nil, fmt.Errorf("%w: %d words; a filter of more than %d is not supported", ErrUnsupported, len(toks), maxWords)
	}
	p := &parser{toks: toks}
	if len(toks) == 0 {
		return &Filter{}, nil
	}
	root, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		if p.peek() == ")" {
			return nil, p.syntax("a \")\" with no \"(\" before it")
		}
		return nil, p.syntax("expected \"and\", \"or\" or the end of the filter")
	}
	return &Filter{root: root}, nil
}

// tokenize splits the words into tokens, taking parentheses, "!", "&&"
// and "||" apart from what they touch, as tcpdump's lexer does.
func tokenize(args []string) ([]string, error) {
	var toks []string
	for _, a := range args {
		for _, w := range strings.Fields(a) {
			start := 0
			flush := func(i int) {
				if i > start {
					toks = append(toks, w[start:i])
				}
			}
			for i := 0; i < len(w); i++ {
				c := w[i]
				switch {
				case c == '(' || c == ')' || c == '!' && (i+1 == len(w) || w[i+1] != '='):
					flush(i)
					toks = append(toks, w[i:i+1])
					start = i + 1
				case (c == '&' || c == '|') && i+1 < len(w) && w[i+1] == c:
					flush(i)
					toks = append(toks, w[i:i+2])
					i++
					start = i + 1
				}
			}
			flush(len(w))
		}
	}
	return toks, nil
}

// parser is a recursive-descent parser over tcpdump's grammar, less what
// sniff does not support.
type parser struct {
	toks []string
	i    int
	// last is the previous primitive's qualifiers, which a bare value
	// takes ("port 9000 or 9001", "host ::1 or 127.0.0.1").
	last *quals
}

// quals are the qualifiers before a value: [ip|ip6|tcp] [src|dst] [type].
type quals struct {
	v     Version
	tcp   bool
	dir   Dir
	kind  string // host, net, port, portrange; "" when not given
	words string // as written, for errors
}

func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return strings.ToLower(p.toks[p.i])
	}
	return ""
}

// at names the current word for an error.
func (p *parser) at() string {
	if p.i >= len(p.toks) {
		return "at the end of the filter"
	}
	return fmt.Sprintf("at word %d, %q", p.i+1, p.toks[p.i])
}

func (p *parser) syntax(format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", ErrSyntax, p.at(), fmt.Sprintf(format, args...))
}

func (p *parser) unsupported(format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", ErrUnsupported, p.at(), fmt.Sprintf(format, args...))
}

// expr := unary { (and | or) unary }, grouping from the left with equal
// precedence, as tcpdump (libpcap) does.
func (p *parser) expr(depth int) (node, error) {
	n, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for {
		op := p.peek()
		if op != "and" && op != "&&" && op != "or" && op != "||" {
			return n, nil
		}
		p.i++
		if p.i == len(p.toks) {
			p.i--
			return nil, p.syntax("%q must join two conditions; nothing follows it", p.toks[p.i])
		}
		r, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		if op == "and" || op == "&&" {
			n = andNode{n, r}
		} else {
			n = orNode{n, r}
		}
	}
}

// unary := (not | !) unary | "(" expr ")" | primitive
func (p *parser) unary(depth int) (node, error) {
	if depth > maxDepth {
		return nil, p.unsupported("more than %d nested parentheses or \"not\"s", maxDepth)
	}
	switch w := p.peek(); w {
	case "not", "!":
		p.i++
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	case "(":
		p.i++
		x, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, p.syntax("expected \")\" to close the \"(\"")
		}
		p.i++
		return x, nil
	case "":
		return nil, p.syntax("expected a condition: %s", accepted)
	case "and", "&&", "or", "||":
		return nil, p.syntax("%q must join two conditions; expected a condition before it", p.toks[p.i])
	case ")":
		return nil, p.syntax("expected a condition before \")\"")
	}
	return p.primitive()
}

// accepted lists what may start a condition, for errors.
const accepted = "tcp, ip, ip6, [src|dst] host ADDR, net CIDR, port N, portrange A-B, not, ("

// Words of tcpdump's language that sniff does not support, and why.
func unsupportedWord(w string) string {
	switch w {
	case "udp", "icmp", "icmp6", "arp", "rarp", "sctp", "igmp", "igrp", "pim", "vrrp", "carp", "ah", "esp",
		"decnet", "lat", "sca", "moprc", "mopdl", "iso", "esis", "es-is", "isis", "is-is", "clnp", "stp",
		"ipx", "netbeui", "atalk", "aarp", "radio", "l1", "l2", "iih", "lsp", "snp", "csnp", "psnp":
		return fmt.Sprintf("%q: sniff shows TCP only, so only tcp, ip and ip6 name a protocol", w)
	case "ether", "fddi", "tr", "wlan", "link", "ppp", "slip", "llc", "vlan", "mpls", "pppoed", "pppoes",
		"geneve", "vxlan", "inbound", "outbound", "ifname", "on", "rnr", "rulenum", "reason", "rset",
		"ruleset", "srnr", "subrulenum", "action", "type", "subtype", "dir", "ra", "ta", "addr1", "addr2",
		"addr3", "addr4", "hdpi", "lane", "oam", "oamf4", "oamf4ec", "oamf4sc", "metac", "bcc", "sc", "ilmic",
		"connectmsg", "metaconnect", "vpi", "vci", "fisu", "lssu", "msu", "sio", "opc", "dpc", "sls":
		return fmt.Sprintf("%q: sniff filters on IP addresses and TCP ports only", w)
	case "gateway", "proto", "protochain", "broadcast", "multicast", "less", "greater", "len", "mask":
		return fmt.Sprintf("%q is tcpdump's, but sniff does not support it", w)
	}
	return ""
}

// primitive := [ip|ip6|tcp] [dir] [host|net|port|portrange] VALUE, or a
// protocol on its own, or a bare VALUE with the previous qualifiers.
func (p *parser) primitive() (node, error) {
	if strings.ContainsAny(p.peek(), byteExpr) {
		return nil, p.unsupported("byte expressions such as tcp[13] & 2 != 0 are not supported")
	}
	q := quals{}
	start := p.i
	explicit := false
	switch w := p.peek(); w {
	case "ip", "ip6", "tcp":
		p.i++
		explicit = true
		switch w {
		case "ip":
			q.v = V4
		case "ip6":
			q.v = V6
		default:
			q.tcp = true
		}
		next := p.peek()
		if !isDir(next) && !isKind(next) {
			if next != "" && unsupportedWord(next) == "" && isValue(next) {
				return nil, p.syntax("%q cannot be followed by a value; expected host, net, port or portrange first", w)
			}
			return protoNode{q.v}, nil
		}
	}
	if w := p.peek(); isDir(w) {
		p.i++
		explicit = true
		q.dir = Src
		if w == "dst" {
			q.dir = Dst
		}
		// "src or dst" and "src and dst" are qualifiers too.
		if j := p.i; j+1 < len(p.toks) {
			op, other := strings.ToLower(p.toks[j]), strings.ToLower(p.toks[j+1])
			if (op == "or" || op == "and") && isDir(other) && other != w {
				p.i += 2
				if op == "or" {
					q.dir = Either
				} else {
					q.dir = SrcAndD
				}
			}
		}
	}
	if w := p.peek(); isKind(w) {
		p.i++
		explicit = true
		q.kind = w
	}
	if !explicit {
		if w := p.peek(); unsupportedWord(w) != "" {
			return nil, p.unsupported("%s", unsupportedWord(w))
		}
		if p.last == nil {
			if !strings.ContainsAny(p.peek(), ".:") {
				return nil, p.syntax("unknown word; expected a condition: %s", accepted)
			}
			// An address on its own: tcpdump takes it as a host (or, as
			// ADDR/LEN, a network).
		} else {
			q = *p.last
		}
	}
	q.words = strings.Join(p.toks[start:p.i], " ")
	if p.i == len(p.toks) || !isValue(p.peek()) {
		if w := p.peek(); unsupportedWord(w) != "" {
			return nil, p.unsupported("%s", unsupportedWord(w))
		}
		what := "a value"
		switch q.kind {
		case "host":
			what = "an IP address"
		case "net":
			what = "a network (10.0.0.0/8, 2001:db8::/32)"
		case "port":
			what = "a port number"
		case "portrange":
			what = "a port range (9000-9010)"
		case "":
			what = "host, net, port or portrange, or a value"
		}
		return nil, p.syntax("%q wants %s after it", q.words, what)
	}
	n, err := p.value(q)
	if err != nil {
		return nil, err
	}
	p.last = &q
	return n, nil
}

// byteExpr are the characters of tcpdump's arithmetic on packet bytes.
const byteExpr = "[]<>=&|+*^"

func isDir(w string) bool  { return w == "src" || w == "dst" }
func isKind(w string) bool { return w == "host" || w == "net" || w == "port" || w == "portrange" }

// isValue reports whether w can be the value after qualifiers (not an
// operator or a keyword).
func isValue(w string) bool {
	switch w {
	case "", "(", ")", "!", "not", "and", "&&", "or", "||", "ip", "ip6", "tcp":
		return false
	}
	return !isDir(w) && !isKind(w)
}

// value reads the value for qualifiers q.
func (p *parser) value(q quals) (node, error) {
	raw := p.toks[p.i]
	if strings.ContainsAny(raw, byteExpr) {
		return nil, p.unsupported("byte expressions such as tcp[13] & 2 != 0 are not supported")
	}
	kind := q.kind
	if kind == "" {
		kind = "host"
		if strings.Contains(raw, "/") {
			kind = "net" // tcpdump takes ADDR/LEN as a network
		}
	}
	if q.tcp && (kind == "host" || kind == "net") {
		return nil, p.syntax("\"tcp\" cannot qualify %s; use \"tcp and %s %s\"", kind, kind, raw)
	}
	if q.v != Any && (kind == "port" || kind == "portrange") {
		return nil, p.syntax("%q cannot qualify %s; only tcp can (sniff shows TCP only)", [...]string{"", "ip", "ip6"}[q.v], kind)
	}
	var n node
	var err error
	switch kind {
	case "host", "net":
		n, err = p.address(q, kind, raw)
	default:
		n, err = p.port(q, kind, raw)
	}
	if err != nil {
		return nil, err
	}
	p.i++
	return n, nil
}

// address reads "host ADDR" or "net NET" ("net 10", "net 10.1",
// "net 10.0.0.0/8", "net 10.0.0.0 mask 255.0.0.0", "net 2001:db8::/32").
func (p *parser) address(q quals, kind, raw string) (node, error) {
	if kind == "host" {
		a, err := netip.ParseAddr(raw)
		if err != nil || a.Zone() != "" {
			if strings.Contains(raw, "/") {
				return nil, p.syntax("%q is a network; write \"net %s\"", raw, raw)
			}
			if !strings.ContainsAny(raw, ".:") || strings.ContainsAny(raw, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") && !strings.Contains(raw, ":") {
				return nil, p.unsupported("host %q: host names are not looked up; give an IP address", raw)
			}
			return nil, p.syntax("host %q is not an IP address", raw)
		}
		if err := checkVersion(p, q.v, a); err != nil {
			return nil, err
		}
		return hostNode{dir: q.dir, net: netip.PrefixFrom(a, a.BitLen()), host: true}, nil
	}
	var pfx netip.Prefix
	switch {
	case strings.Contains(raw, "/"):
		var err error
		pfx, err = netip.ParsePrefix(raw)
		if err != nil {
			return nil, p.syntax("net %q is not a network (10.0.0.0/8, 2001:db8::/32)", raw)
		}
	case strings.Contains(raw, ":"):
		a, err := netip.ParseAddr(raw)
		if err != nil || a.Zone() != "" {
			return nil, p.syntax("net %q is not a network (10.0.0.0/8, 2001:db8::/32)", raw)
		}
		pfx = netip.PrefixFrom(a, 128)
	default:
		// tcpdump's classful shorthand: "net 10" is 10.0.0.0/8, "net
		// 10.1" is 10.1.0.0/16, and so on; a full address is a /32.
		parts := strings.Split(raw, ".")
		var b [4]byte
		for i, s := range parts {
			v, err := strconv.ParseUint(s, 10, 8)
			if err != nil || i >= 4 {
				return nil, p.syntax("net %q is not a network (10.0.0.0/8, 2001:db8::/32)", raw)
			}
			b[i] = byte(v)
		}
		pfx = netip.PrefixFrom(netip.AddrFrom4(b), 8*len(parts))
		if p.i+2 < len(p.toks) && strings.ToLower(p.toks[p.i+1]) == "mask" {
			m, err := netip.ParseAddr(p.toks[p.i+2])
			bitsOn, ok := maskBits(m)
			if err != nil || !m.Is4() || !ok {
				p.i += 2
				return nil, p.syntax("mask %q is not an IPv4 netmask (255.255.0.0)", p.toks[p.i])
			}
			pfx = netip.PrefixFrom(netip.AddrFrom4(b), bitsOn)
			p.i += 2
		}
	}
	if pfx.Masked() != pfx {
		return nil, p.syntax("net %q has bits set beyond its /%d (did you mean %s?)", raw, pfx.Bits(), pfx.Masked())
	}
	if err := checkVersion(p, q.v, pfx.Addr()); err != nil {
		return nil, err
	}
	return hostNode{dir: q.dir, net: pfx}, nil
}

// maskBits is the prefix length of an IPv4 netmask.
func maskBits(m netip.Addr) (int, bool) {
	if !m.Is4() {
		return 0, false
	}
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&(1<<31) != 0 {
		n++
		v <<= 1
	}
	return n, v == 0
}

// checkVersion refuses "ip host ::1" and "ip6 net 10.0.0.0/8".
func checkVersion(p *parser, v Version, a netip.Addr) error {
	if v == V4 && !a.Is4() || v == V6 && !a.Is6() {
		return p.syntax("%s is not an %s address", a, [...]string{"", "IPv4 (ip)", "IPv6 (ip6)"}[v])
	}
	return nil
}

// port reads "port N" or "portrange A-B".
func (p *parser) port(q quals, kind, raw string) (node, error) {
	num := func(s string) (uint16, error) {
		n, err := strconv.ParseUint(s, 10, 16)
		if err == nil {
			return uint16(n), nil
		}
		if s != "" && strings.Trim(strings.ToLower(s), "abcdefghijklmnopqrstuvwxyz-") == "" {
			return 0, p.unsupported("port %q: port names are not looked up; give the number", s)
		}
		return 0, p.syntax("port %q is not a number from 0 to 65535", s)
	}
	if kind == "port" {
		if a, b, ok := strings.Cut(raw, "-"); ok && a != "" && b != "" {
			if _, err := strconv.Atoi(a); err == nil {
				return nil, p.syntax("port %q is a range; write \"portrange %s\"", raw, raw)
			}
		}
		n, err := num(raw)
		if err != nil {
			return nil, err
		}
		return portNode{dir: q.dir, lo: n, hi: n}, nil
	}
	a, b, ok := strings.Cut(raw, "-")
	if !ok {
		return nil, p.syntax("portrange %q is not a range of ports (9000-9010)", raw)
	}
	lo, err := num(a)
	if err != nil {
		return nil, err
	}
	hi, err := num(b)
	if err != nil {
		return nil, err
	}
	if lo > hi {
		lo, hi = hi, lo // as tcpdump does
	}
	return portNode{dir: q.dir, lo: lo, hi: hi, rng: true}, nil
}

// StartsFilter reports whether a command-line word begins a filter
// rather than naming an interface: a word of the filter language (one
// sniff supports or not), an operator, a parenthesis or an address. A
// quoted filter counts by its first word.
func StartsFilter(arg string) bool {
	toks, _ := tokenize([]string{arg})
	if len(toks) == 0 {
		return false
	}
	w := strings.ToLower(toks[0])
	switch w {
	case "(", ")", "!", "not", "and", "&&", "or", "||", "ip", "ip6", "tcp":
		return true
	}
	if isDir(w) || isKind(w) || unsupportedWord(w) != "" || strings.ContainsAny(w, byteExpr) {
		return true
	}
	if _, err := strconv.Atoi(w); err == nil {
		return true
	}
	_, err := netip.ParsePrefix(w)
	_, err2 := netip.ParseAddr(w)
	return err == nil || err2 == nil || len(toks) > 1
}
