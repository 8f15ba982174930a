-- chatlab.lua: a Wireshark dissector for chatlab and for the original C
-- chat program chatlab replaces.
--
--   chatlab     plain mode (text lines) and secure mode (records), TCP 9000
--   chatlab_c   the original program: PEM key, RSA-OAEP blob, 268-byte
--               frames under one IV, TCP 1234
--
-- Both are found by content on any port (a heuristic dissector on TCP),
-- by port, and through Decode As. Records and lines split over TCP
-- segments are reassembled; several in one segment are each dissected.
--
-- One-off:  tshark -X lua_script:chatlab.lua -r capture.pcap
-- Install:  sniff --install-wireshark-plugin
--
-- Needs Wireshark 4.0 or later (its Lua 5.2 API). The wire format is in
-- protocol/PROTOCOL.md of chatlab.

local CHATLAB_PORT = 9000
local ORIGINAL_PORT = 1234

-- Limits, the same as chatlab's (protocol/limits.go).
local MAX_LINE = 4096          -- longest plain line
local MAX_RECORD_BODY = 4160   -- longest record body
local HEADER_LEN = 5           -- type (1) and length (4)
local NONCE_LEN = 12           -- suite 0x01 and 0x81
local TAG_LEN = 16
local CBC_IV_LEN = 16          -- suite 0x82

-- The original program's fixed sizes (protocol/legacy/format.go).
local C_WRAPPED_LEN = 256
local C_IV_LEN = 12
local C_FRAME_LEN = 268
-- A PEM RSA-2048 public key is 451 bytes; more than this without the END
-- line is not one.
local C_MAX_PEM = 4096
local PEM_BEGIN = "-----BEGIN PUBLIC KEY-----"
local PEM_END = "-----END PUBLIC KEY-----"

local TYPE_HELLO, TYPE_KEX, TYPE_DATA = 0x01, 0x02, 0x17
local HELLO_RANDOM_LEN = 32
local SUITE_GCM, SUITE_FIXED_IV, SUITE_CBC = 0x01, 0x81, 0x82

local record_types = {
    [TYPE_HELLO] = "hello",
    [TYPE_KEX] = "key-exchange",
    [TYPE_DATA] = "data",
}

-- Suite names as chat prints them; the weak ones say so.
local suites = {
    [SUITE_GCM] = "AES-128-GCM",
    [SUITE_FIXED_IV] = "AES-128-GCM with a fixed IV (weak)",
    [SUITE_CBC] = "AES-128-CBC without a MAC (weak)",
}

------------------------------------------------------------------------
-- 32-bit arithmetic, SHA-256 and base64, for the key fingerprint.
-- Wireshark 4.0 has no hash in its Lua API; Lua 5.2's bit32 is enough.

local band, bor, bxor, bnot, rshift, lshift, rrotate
if bit32 then
    band, bor, bxor, bnot = bit32.band, bit32.bor, bit32.bxor, bit32.bnot
    rshift, lshift, rrotate = bit32.rshift, bit32.lshift, bit32.rrotate
elseif bit then
    -- LuaBitOp returns signed results; % brings them back to 0..2^32-1.
    local M = 4294967296
    band = function(a, b) return bit.band(a, b) % M end
    bor = function(a, b) return bit.bor(a, b) % M end
    bxor = function(a, b, c)
        if c then return bit.bxor(a, b, c) % M end
        return bit.bxor(a, b) % M
    end
    bnot = function(a) return bit.bnot(a) % M end
    rshift = function(a, n) return bit.rshift(a, n) % M end
    lshift = function(a, n) return bit.lshift(a, n) % M end
    rrotate = function(a, n) return bit.ror(a, n) % M end
end

local K256 = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

-- sha256 returns the 32-byte digest of the Lua string s, or nil when no
-- bit library is available.
local function sha256(s)
    if not band then return nil end
    local M = 4294967296
    local n = #s
    s = s .. "\128" .. string.rep("\0", (55 - n) % 64)
    local bits = n * 8
    local tail = {}
    for i = 8, 1, -1 do
        tail[i] = string.char(bits % 256)
        bits = math.floor(bits / 256)
    end
    s = s .. table.concat(tail)
    local h = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 }
    local w = {}
    for chunk = 1, #s, 64 do
        for i = 0, 15 do
            local a, b, c, d = s:byte(chunk + 4 * i, chunk + 4 * i + 3)
            w[i] = ((a * 256 + b) * 256 + c) * 256 + d
        end
        for i = 16, 63 do
            local x, y = w[i - 15], w[i - 2]
            local s0 = bxor(rrotate(x, 7), rrotate(x, 18), rshift(x, 3))
            local s1 = bxor(rrotate(y, 17), rrotate(y, 19), rshift(y, 10))
            w[i] = (w[i - 16] + s0 + w[i - 7] + s1) % M
        end
        local a, b, c, d, e, f, g, hh = h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]
        for i = 0, 63 do
            local S1 = bxor(rrotate(e, 6), rrotate(e, 11), rrotate(e, 25))
            local ch = bxor(band(e, f), band(bnot(e), g))
            local t1 = (hh + S1 + ch + K256[i + 1] + w[i]) % M
            local S0 = bxor(rrotate(a, 2), rrotate(a, 13), rrotate(a, 22))
            local maj = bxor(band(a, b), band(a, c), band(b, c))
            local t2 = (S0 + maj) % M
            hh, g, f, e, d, c, b, a = g, f, e, (d + t1) % M, c, b, a, (t1 + t2) % M
        end
        h[1], h[2], h[3], h[4] = (h[1] + a) % M, (h[2] + b) % M, (h[3] + c) % M, (h[4] + d) % M
        h[5], h[6], h[7], h[8] = (h[5] + e) % M, (h[6] + f) % M, (h[7] + g) % M, (h[8] + hh) % M
    end
    local out = {}
    for i = 1, 8 do
        local v = h[i]
        out[i] = string.char(math.floor(v / 16777216) % 256, math.floor(v / 65536) % 256,
            math.floor(v / 256) % 256, v % 256)
    end
    return table.concat(out)
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- base64 encodes s without padding, as chat prints fingerprints.
local function base64(s)
    local out = {}
    for i = 1, #s, 3 do
        local a, b, c = s:byte(i, i + 2)
        local v = a * 65536 + (b or 0) * 256 + (c or 0)
        local chars = 2 + (b and 1 or 0) + (c and 1 or 0)
        for j = 1, chars do
            local idx = math.floor(v / 2 ^ (6 * (4 - j))) % 64
            out[#out + 1] = B64:sub(idx + 1, idx + 1)
        end
    end
    return table.concat(out)
end

local function tohex(s)
    return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- fingerprint is chat's form of a key's identity: SHA256: and the
-- unpadded base64 of the SHA-256 of the DER SubjectPublicKeyInfo.
local function fingerprint(der)
    local sum = sha256(der)
    if not sum then return nil end
    return "SHA256:" .. base64(sum)
end

-- der_tlv reads one DER element of s at 1-based position i and returns its
-- tag, the position of its content, the content length, or nil.
local function der_tlv(s, i)
    if i + 1 > #s then return nil end
    local tag, len = s:byte(i), s:byte(i + 1)
    local p = i + 2
    if len >= 0x80 then
        local nb = len - 0x80
        if nb < 1 or nb > 3 or p + nb - 1 > #s then return nil end
        len = 0
        for k = 0, nb - 1 do len = len * 256 + s:byte(p + k) end
        p = p + nb
    end
    if p + len - 1 > #s then return nil end
    return tag, p, len
end

-- rsa_key reads an RSA SubjectPublicKeyInfo and returns the modulus size
-- in bits and the public exponent, or nil when der is not one.
local function rsa_key(der)
    local tag, p = der_tlv(der, 1)
    if tag ~= 0x30 then return nil end
    local atag, ap, alen = der_tlv(der, p) -- the algorithm
    if atag ~= 0x30 then return nil end
    local btag, bp, blen = der_tlv(der, ap + alen) -- the key as a BIT STRING
    if btag ~= 0x03 or blen < 1 then return nil end
    local stag, sp = der_tlv(der, bp + 1)
    if stag ~= 0x30 then return nil end
    local ntag, np, nlen = der_tlv(der, sp)
    if ntag ~= 0x02 then return nil end
    while nlen > 0 and der:byte(np) == 0 do
        np, nlen = np + 1, nlen - 1
    end
    if nlen == 0 then return nil end
    local top, topbits = der:byte(np), 0
    while top > 0 do
        top, topbits = math.floor(top / 2), topbits + 1
    end
    local etag, ep, elen = der_tlv(der, np + nlen)
    local e
    if etag == 0x02 and elen <= 6 then
        e = 0
        for k = 0, elen - 1 do e = e * 256 + der:byte(ep + k) end
    end
    return (nlen - 1) * 8 + topbits, e
end

------------------------------------------------------------------------
-- Protocols and fields.

local chatlab = Proto("chatlab", "chatlab chat protocol")
local chatlab_c = Proto("chatlab_c", "Original C chat program (chatlab legacy)")

local F = {
    -- plain mode
    line = ProtoField.string("chatlab.line", "Line", base.UNICODE, "A plain-mode line, without its newline"),
    kind = ProtoField.string("chatlab.kind", "Kind", base.ASCII,
        "name, message, command (client); chat, notice (server)"),
    name = ProtoField.string("chatlab.name", "Name", base.UNICODE, "The member's name"),
    text = ProtoField.string("chatlab.text", "Text", base.UNICODE, "The text, readable by anyone on the path"),
    -- secure mode: every record
    record = ProtoField.uint32("chatlab.record", "Record number", base.DEC,
        nil, nil, "Records counted from 1 in the connection, both directions"),
    type = ProtoField.uint8("chatlab.type", "Type", base.HEX, record_types),
    length = ProtoField.uint32("chatlab.length", "Length", base.DEC),
    body = ProtoField.bytes("chatlab.body", "Body"),
    -- hello
    magic = ProtoField.string("chatlab.magic", "Magic", base.ASCII),
    version = ProtoField.uint8("chatlab.version", "Version", base.DEC),
    suite = ProtoField.uint8("chatlab.suite", "Cipher suite", base.HEX, suites),
    weak = ProtoField.bool("chatlab.weak", "Weak suite (lessons only)"),
    random = ProtoField.bytes("chatlab.random", "Server random", base.NONE,
        "32 bytes, fresh for each connection (version 2): they make the session's keys its own"),
    key = ProtoField.bytes("chatlab.key", "Server public key (DER SubjectPublicKeyInfo)"),
    key_bits = ProtoField.uint32("chatlab.key_bits", "RSA key size (bits)", base.DEC),
    key_exponent = ProtoField.uint32("chatlab.key_exponent", "RSA public exponent", base.DEC),
    fingerprint = ProtoField.string("chatlab.fingerprint", "Fingerprint", base.ASCII,
        "As chat prints it: SHA256: and the base64 of the SHA-256 of the DER key"),
    -- key exchange
    wrapped_key = ProtoField.bytes("chatlab.wrapped_key", "Wrapped session key (RSA-OAEP-SHA256)"),
    transcript = ProtoField.bytes("chatlab.transcript", "Transcript hash",
        base.NONE, "SHA-256 of the hello and key-exchange records: the session's name in a key log"),
    -- data
    nonce = ProtoField.bytes("chatlab.nonce", "Nonce"),
    seq = ProtoField.uint64("chatlab.seq", "Sequence number", base.DEC),
    counter = ProtoField.uint64("chatlab.counter", "Record counter (not on the wire)", base.DEC,
        nil, nil, "Data records of this direction before this one: the sequence number a weak suite does not send"),
    iv = ProtoField.bytes("chatlab.iv", "IV"),
    ciphertext = ProtoField.bytes("chatlab.ciphertext", "Ciphertext"),
    tag = ProtoField.bytes("chatlab.tag", "Tag"),
    nonce_reused = ProtoField.uint32("chatlab.nonce_reused", "Same nonce as record", base.DEC),
}
chatlab.fields = F

local C = {
    pem = ProtoField.string("chatlab_c.pem", "Server public key (PEM, in the clear)", base.ASCII),
    key_bits = ProtoField.uint32("chatlab_c.key_bits", "RSA key size (bits)", base.DEC),
    fingerprint = ProtoField.string("chatlab_c.fingerprint", "Fingerprint", base.ASCII,
        "SHA256: and the base64 of the SHA-256 of the DER key, as chatlab prints it"),
    wrapped_key = ProtoField.bytes("chatlab_c.wrapped_key", "Wrapped session key (RSA-OAEP-SHA1)"),
    frame = ProtoField.uint32("chatlab_c.frame", "Frame number", base.DEC,
        nil, nil, "Frames counted from 1 in the connection, both directions"),
    iv = ProtoField.bytes("chatlab_c.iv", "IV"),
    ciphertext = ProtoField.bytes("chatlab_c.ciphertext", "Ciphertext (AES-128-GCM, tag dropped)"),
    iv_reused = ProtoField.uint32("chatlab_c.iv_reused", "Same IV as frame", base.DEC),
}
chatlab_c.fields = C

local E = {
    weak = ProtoExpert.new("chatlab.weak_suite", "Weak lesson suite",
        expert.group.SECURITY, expert.severity.WARN),
    nonce_reuse = ProtoExpert.new("chatlab.nonce_reuse", "Nonce reuse",
        expert.group.SECURITY, expert.severity.WARN),
    seq_mismatch = ProtoExpert.new("chatlab.seq_mismatch", "Sequence number out of order",
        expert.group.SEQUENCE, expert.severity.WARN),
    malformed = ProtoExpert.new("chatlab.malformed", "Malformed",
        expert.group.MALFORMED, expert.severity.ERROR),
    plaintext = ProtoExpert.new("chatlab.cleartext", "Readable by anyone on the path",
        expert.group.SECURITY, expert.severity.NOTE),
    no_fingerprint = ProtoExpert.new("chatlab.no_fingerprint", "Fingerprint not computed",
        expert.group.UNDECODED, expert.severity.NOTE),
    old_version = ProtoExpert.new("chatlab.old_version", "Version 1: no server random",
        expert.group.SECURITY, expert.severity.WARN),
}
chatlab.experts = { E.weak, E.nonce_reuse, E.seq_mismatch, E.malformed, E.plaintext, E.no_fingerprint,
    E.old_version }

local CE = {
    iv_reuse = ProtoExpert.new("chatlab_c.iv_reuse", "IV reuse",
        expert.group.SECURITY, expert.severity.WARN),
    malformed = ProtoExpert.new("chatlab_c.malformed", "Malformed",
        expert.group.MALFORMED, expert.severity.ERROR),
    midstream = ProtoExpert.new("chatlab_c.no_key", "The server's stream does not start with its PEM key:" ..
        " taken as frames (a capture begun after the key exchange?)", expert.group.SEQUENCE, expert.severity.NOTE),
}
chatlab_c.experts = { CE.iv_reuse, CE.malformed, CE.midstream }


------------------------------------------------------------------------
-- State. Wireshark dissects every packet once in order, and again when
-- it is shown; what depends on earlier packets (record numbers, counters,
-- IVs seen) is worked out the first time and kept per packet.

local streams = {} -- by tcp.stream: what is known about the connection
local cache = {}   -- by packet number: the facts of each unit in it

local function reset()
    streams, cache = {}, {}
end
chatlab.init = reset

local function endpoint(addr, port)
    return tostring(addr) .. ":" .. tostring(port)
end

-- stream_key names the connection the same way from both ends. It uses
-- no field of the TCP dissector: those are not filled in when Wireshark
-- or tshark makes a first pass without a tree.
local function stream_key(pinfo)
    local a, b = endpoint(pinfo.src, pinfo.src_port), endpoint(pinfo.dst, pinfo.dst_port)
    if a > b then a, b = b, a end
    return a .. "|" .. b
end

local function new_stream()
    return { records = 0, frames = 0, dirs = {}, ivs = {} }
end

local function stream_of(pinfo)
    local key = stream_key(pinfo)
    local st = streams[key]
    if not st then
        st = new_stream()
        streams[key] = st
    end
    return st
end

-- dir is the state of the direction this packet travels in.
local function dir_of(st, pinfo)
    local k = endpoint(pinfo.src, pinfo.src_port)
    local d = st.dirs[k]
    if not d then
        d = { units = 0, data = 0, nonces = {} }
        st.dirs[k] = d
    end
    return d
end

local function from_server(st, pinfo)
    return st.server ~= nil and st.server == endpoint(pinfo.src, pinfo.src_port)
end

-- A packet can be handed over more than once (a reassembled record, then
-- the bytes after it), so units are keyed by where their bytes start.
local function unit_key(tvb, offset)
    return tvb:offset() + offset .. "/" .. tvb:len()
end

local function cached(pinfo, tvb, offset)
    local c = cache[pinfo.number]
    return c and c[unit_key(tvb, offset)]
end

-- facts returns what compute works out for the unit at offset, computing
-- it only the first time.
local function facts(pinfo, tvb, offset, compute)
    local key = unit_key(tvb, offset)
    local c = cache[pinfo.number]
    if c and c[key] then return c[key] end
    if not c then
        c = {}
        cache[pinfo.number] = c
    end
    c[key] = compute()
    return c[key]
end

-- show_info puts the units of this call in the Info column. After a
-- reassembled unit, TCP hands over the rest of the packet in a second
-- call and keeps the first call's text, so the second one appends.
local function show_info(pinfo, tvb, summary)
    if #summary == 0 then return end
    local text = table.concat(summary, "; ")
    local after_reassembled = false
    if tvb:offset() > 0 then
        for key in pairs(cache[pinfo.number] or {}) do
            if key:sub(1, 2) == "0/" then after_reassembled = true end
        end
    end
    if after_reassembled then
        pinfo.cols.info:append("; " .. text)
    else
        pinfo.cols.info = text
    end
end

------------------------------------------------------------------------
-- chatlab plain mode.

local function valid_name(s)
    return #s >= 1 and #s <= 32 and s:find("^[A-Za-z0-9%-_%.]+$") ~= nil
end

local function is_text(b)
    return (b >= 0x20 and b <= 0x7e) or b == 0x0a or b == 0x0d or b == 0x09 or b >= 0x80
end

-- dissect_line dissects the line at offset, or returns a negative count
-- of bytes still missing (-1: one more segment).
local function dissect_line(tvb, pinfo, tree, offset, st)
    local avail = tvb:len() - offset
    local raw = tvb:raw(offset, math.min(avail, MAX_LINE + 2))
    local nl = raw:find("\n", 1, true)
    if not nl then
        if avail > MAX_LINE + 1 then
            local item = tree:add(chatlab, tvb(offset), "chatlab plain: line over " .. MAX_LINE .. " bytes")
            item:add_proto_expert_info(E.malformed, "a line over " .. MAX_LINE .. " bytes; chatlab closes the connection")
            return avail
        end
        return -1
    end
    local line = raw:sub(1, nl - 1):gsub("\r$", "")
    local f = facts(pinfo, tvb, offset, function()
        local d = dir_of(st, pinfo)
        d.units = d.units + 1
        local server = from_server(st, pinfo)
        if st.server == nil and line:sub(1, 2) == "* " then
            st.server = endpoint(pinfo.src, pinfo.src_port)
            server = true
        end
        local r = { n = d.units }
        if server then
            local who, text = line:match("^([^:%s]+): (.*)$")
            if line:sub(1, 2) == "* " then
                r.kind, r.text = "notice", line:sub(3)
            elseif who and valid_name(who) then
                r.kind, r.name, r.text = "chat", who, text
            else
                r.kind, r.text = "line", line
            end
        else
            if d.units == 1 and st.server ~= nil then
                r.kind, r.name, r.text = "name", line, line
            elseif line:sub(1, 1) == "/" then
                r.kind, r.text = "command", line
            else
                r.kind, r.text = "message", line
            end
        end
        r.info = r.kind .. ": " .. r.text
        return r
    end)
    local range = tvb(offset, nl)
    local item = tree:add(chatlab, range, "chatlab plain " .. f.kind .. ": " .. line)
    item:add(F.line, tvb(offset, #line), line)
    item:add(F.kind, f.kind):set_generated()
    if f.name then item:add(F.name, f.name):set_generated() end
    item:add(F.text, f.text):set_generated()
    if f.kind ~= "notice" and f.kind ~= "line" then
        item:add_proto_expert_info(E.plaintext)
    end
    return nl
end

------------------------------------------------------------------------
-- chatlab secure mode.

local function dissect_hello(tvb, pinfo, item, st, f, body_off, blen)
    local body = tvb(body_off, blen)
    if blen < 6 or body:raw(0, 4) ~= "CLAB" then
        item:add_proto_expert_info(E.malformed, "a hello starts with CLAB, version and suite")
        item:add(F.body, body)
        return
    end
    item:add(F.magic, tvb(body_off, 4))
    item:add(F.version, tvb(body_off + 4, 1))
    local suite = tvb(body_off + 5, 1):uint()
    local si = item:add(F.suite, tvb(body_off + 5, 1))
    local weak = suite >= 0x80
    item:add(F.weak, weak):set_generated()
    if weak then
        si:add_proto_expert_info(E.weak, "weak lesson suite: " .. (suites[suite] or "unknown") ..
            "; a default client refuses it")
    end
    -- Version 2 puts a 32-byte random before the key; version 1 had none.
    local key_off = 6
    if tvb(body_off + 4, 1):uint() == 1 then
        item:add_proto_expert_info(E.old_version,
            "version 1: no server random, so this whole session can be recorded and replayed")
    elseif blen >= 6 + HELLO_RANDOM_LEN then
        item:add(F.random, tvb(body_off + 6, HELLO_RANDOM_LEN))
        key_off = 6 + HELLO_RANDOM_LEN
    end
    if blen > key_off then
        local der = tvb:raw(body_off + key_off, blen - key_off)
        local ki = item:add(F.key, tvb(body_off + key_off, blen - key_off))
        local bits, e = rsa_key(der)
        if bits then
            ki:append_text(" (RSA-" .. bits .. ")")
            item:add(F.key_bits, bits):set_generated()
            if e then item:add(F.key_exponent, e):set_generated() end
        else
            ki:add_proto_expert_info(E.malformed, "the key is not an RSA SubjectPublicKeyInfo")
        end
        local fp = fingerprint(der)
        if fp then
            item:add(F.fingerprint, fp):set_generated()
            item:append_text(", " .. fp)
        else
            item:add_proto_expert_info(E.no_fingerprint,
                "no bit library in this Lua: run sniff on the capture, or chat, for the fingerprint")
        end
    end
end

local function dissect_data(tvb, pinfo, item, st, f, body_off, blen)
    local suite = st.suite
    if suite == SUITE_CBC then
        if blen < CBC_IV_LEN then
            item:add_proto_expert_info(E.malformed, "shorter than the 16-byte IV")
            return
        end
        item:add(F.iv, tvb(body_off, CBC_IV_LEN))
        if blen > CBC_IV_LEN then item:add(F.ciphertext, tvb(body_off + CBC_IV_LEN, blen - CBC_IV_LEN)) end
        item:add(F.counter, UInt64.new(f.dseq)):set_generated()
        item:append_text(", counter " .. f.dseq)
        return
    end
    if blen < NONCE_LEN + TAG_LEN then
        item:add_proto_expert_info(E.malformed, "shorter than nonce and tag (28 bytes)")
        item:add(F.body, tvb(body_off, blen))
        return
    end
    item:add(F.nonce, tvb(body_off, NONCE_LEN))
    if suite == SUITE_FIXED_IV then
        -- The nonce is fixed, so its seq bytes are always zero; the
        -- sequence number is only the counter both sides keep.
        item:add(F.seq, tvb(body_off + 4, 8)):append_text(" (fixed: the same nonce on every record, weak suite)")
        item:add(F.counter, UInt64.new(f.dseq)):set_generated()
        item:append_text(", counter " .. f.dseq)
    else
        item:add(F.seq, tvb(body_off + 4, 8))
        item:append_text(", seq " .. f.seq)
        if f.seq ~= tostring(f.dseq) then
            item:add_proto_expert_info(E.seq_mismatch, "the nonce carries seq " .. f.seq ..
                ", but this is record " .. f.dseq .. " of its direction (counted from 0): replayed, reordered or dropped")
        end
    end
    if blen > NONCE_LEN + TAG_LEN then
        item:add(F.ciphertext, tvb(body_off + NONCE_LEN, blen - NONCE_LEN - TAG_LEN))
    end
    item:add(F.tag, tvb(body_off + blen - TAG_LEN, TAG_LEN))
    if f.reused then
        item:add(F.nonce_reused, f.reused):set_generated()
        item:add_proto_expert_info(E.nonce_reuse, "Nonce reuse: same nonce as record " .. f.reused ..
            " under the same key: XOR of the ciphertexts is XOR of the texts")
    end
end

-- dissect_record dissects the record at offset, or returns a negative
-- count of bytes still missing.
local function dissect_record(tvb, pinfo, tree, offset, st)
    local avail = tvb:len() - offset
    if avail < HEADER_LEN then return -(HEADER_LEN - avail) end
    local rtype = tvb(offset, 1):uint()
    local blen = tvb(offset + 1, 4):uint()
    if not record_types[rtype] or blen > MAX_RECORD_BODY then
        local item = tree:add(chatlab, tvb(offset), "chatlab record: not a valid header")
        item:add(F.type, tvb(offset, 1))
        item:add(F.length, tvb(offset + 1, 4))
        item:add_proto_expert_info(E.malformed, record_types[rtype] and
            ("length " .. blen .. " over the limit of " .. MAX_RECORD_BODY .. "; chatlab refuses it from the header")
            or string.format("unknown record type 0x%02x", rtype))
        return avail
    end
    if avail < HEADER_LEN + blen then return -(HEADER_LEN + blen - avail) end
    local body_off = offset + HEADER_LEN
    local f = facts(pinfo, tvb, offset, function()
        if rtype == TYPE_HELLO and st.records > 0 then
            -- A second hello: a new connection on the same two ports.
            local fresh = new_stream()
            fresh.mode = st.mode
            for k, v in pairs(fresh) do st[k] = v end
            st.server, st.hello, st.suite = nil, nil, nil
        end
        st.records = st.records + 1
        local r = { n = st.records }
        if rtype == TYPE_HELLO then
            st.server = endpoint(pinfo.src, pinfo.src_port)
            st.hello = tvb:raw(offset, HEADER_LEN + blen)
            if blen >= 6 then st.suite = tvb(body_off + 5, 1):uint() end
        elseif rtype == TYPE_KEX and st.hello then
            r.transcript = sha256(st.hello .. tvb:raw(offset, HEADER_LEN + blen))
        elseif rtype == TYPE_DATA then
            local d = dir_of(st, pinfo)
            r.dseq = d.data
            d.data = d.data + 1
            if st.suite ~= SUITE_CBC and blen >= NONCE_LEN then
                local nonce = tvb:raw(body_off, NONCE_LEN)
                if st.suite ~= SUITE_FIXED_IV then r.seq = tostring(tvb(body_off + 4, 8):uint64()) end
                r.weak = st.suite == SUITE_FIXED_IV
                r.reused = d.nonces[nonce]
                d.nonces[nonce] = d.nonces[nonce] or r.n
            end
        end
        r.info = record_types[rtype] .. (r.dseq and ((r.seq and " seq " or " counter ") .. (r.seq or r.dseq)) or "") ..
            (r.reused and (", nonce reuse: same nonce as record " .. r.reused) or "")
        return r
    end)
    local name = record_types[rtype]
    local item = tree:add(chatlab, tvb(offset, HEADER_LEN + blen),
        "chatlab record " .. f.n .. ": " .. name .. ", " .. blen .. " bytes")
    item:add(F.record, f.n):set_generated()
    item:add(F.type, tvb(offset, 1))
    item:add(F.length, tvb(offset + 1, 4))
    if rtype == TYPE_HELLO then
        dissect_hello(tvb, pinfo, item, st, f, body_off, blen)
    elseif rtype == TYPE_KEX then
        item:add(F.wrapped_key, tvb(body_off, blen))
        if f.transcript then
            -- A value with no bytes behind it shows as missing in 4.0,
            -- so the hash gets a data source of its own.
            local t = ByteArray.new(tohex(f.transcript)):tvb("Transcript hash")
            item:add(F.transcript, t()):set_generated()
        end
    else
        dissect_data(tvb, pinfo, item, st, f, body_off, blen)
    end
    return HEADER_LEN + blen
end

-- The mode of a connection is decided by its first bytes: text is plain
-- mode, a record type is secure mode.
local function chatlab_dissector(tvb, pinfo, tree)
    local len = tvb:len()
    if len == 0 then return 0 end
    local st = stream_of(pinfo)
    if not st.mode then
        local b = tvb(0, 1):uint()
        if record_types[b] then
            st.mode = "secure"
        elseif is_text(b) then
            st.mode = "plain"
        else
            local item = tree:add(chatlab, tvb(), "chatlab: neither text nor a record")
            item:add(F.type, tvb(0, 1))
            item:add_proto_expert_info(E.malformed, string.format(
                "unknown record type 0x%02x, and not text: chatlab closes such a connection", b))
            return len
        end
    end
    pinfo.cols.protocol = st.mode == "plain" and "chatlab plain" or "chatlab"
    local offset, summary = 0, {}
    while offset < len do
        local n
        if st.mode == "plain" then
            n = dissect_line(tvb, pinfo, tree, offset, st)
        else
            n = dissect_record(tvb, pinfo, tree, offset, st)
        end
        if n < 0 then
            pinfo.desegment_offset = offset
            pinfo.desegment_len = n == -1 and DESEGMENT_ONE_MORE_SEGMENT or -n
            break
        end
        local c = cached(pinfo, tvb, offset)
        if c then
            summary[#summary + 1] = c.info
        end
        offset = offset + n
    end
    show_info(pinfo, tvb, summary)
    return len
end
chatlab.dissector = chatlab_dissector

------------------------------------------------------------------------
-- The original program.

local function dissect_c_unit(tvb, pinfo, tree, offset, st)
    local avail = tvb:len() - offset
    local d = dir_of(st, pinfo)
    -- The first unit of each direction: the PEM key from the server, the
    -- wrapped key from the client. Known from the first pass's counts.
    local known = cached(pinfo, tvb, offset)
    local first = known and known.first
    if not known then first = d.units == 0 end
    local pem = first and tvb:raw(offset, math.min(avail, #PEM_BEGIN)) == PEM_BEGIN:sub(1, math.min(avail, #PEM_BEGIN))
    if pem then
        local raw = tvb:raw(offset, math.min(avail, C_MAX_PEM))
        local s, e = raw:find(PEM_END, 1, true)
        if not s then
            if avail >= C_MAX_PEM then
                local item = tree:add(chatlab_c, tvb(offset), "Original program: no END line in " .. C_MAX_PEM .. " bytes")
                item:add_proto_expert_info(CE.malformed, "not a PEM public key")
                return avail
            end
            return -1
        end
        local n = e
        if raw:sub(e + 1, e + 1) == "\n" then n = e + 1 elseif e + 1 > #raw then return -1 end
        facts(pinfo, tvb, offset, function()
            d.units = d.units + 1
            st.server = endpoint(pinfo.src, pinfo.src_port)
            return { first = true, info = "server public key, in the clear" }
        end)
        local item = tree:add(chatlab_c, tvb(offset, n), "Original program: server public key, PEM in the clear")
        item:add(C.pem, tvb(offset, n))
        local b64 = raw:sub(#PEM_BEGIN + 1, s - 1):gsub("[^A-Za-z0-9+/=]", "")
        local ok, ba = pcall(function() return ByteArray.new(b64, true):base64_decode() end)
        if ok and ba and ba:len() > 0 then
            local der = ba:raw()
            local bits = rsa_key(der)
            if bits then item:add(C.key_bits, bits):set_generated() end
            local fp = fingerprint(der)
            if fp then item:add(C.fingerprint, fp):set_generated() end
        end
        return n
    end
    if first and not from_server(st, pinfo) then
        if avail < C_WRAPPED_LEN then return -(C_WRAPPED_LEN - avail) end
        facts(pinfo, tvb, offset, function()
            d.units = d.units + 1
            return { first = true, info = "wrapped session key" }
        end)
        local item = tree:add(chatlab_c, tvb(offset, C_WRAPPED_LEN), "Original program: wrapped session key")
        item:add(C.wrapped_key, tvb(offset, C_WRAPPED_LEN))
        return C_WRAPPED_LEN
    end
    if avail < C_FRAME_LEN then return -(C_FRAME_LEN - avail) end
    local f = facts(pinfo, tvb, offset, function()
        -- The server's stream not starting with the PEM key: a capture
        -- begun after the key exchange, or not the original program.
        local nokey = d.units == 0 and from_server(st, pinfo)
        d.units = d.units + 1
        st.frames = st.frames + 1
        local iv = tvb:raw(offset, C_IV_LEN)
        local r = { n = st.frames, reused = st.ivs[iv], nokey = nokey }
        st.ivs[iv] = st.ivs[iv] or r.n
        r.info = "frame " .. r.n .. (r.reused and (", IV reuse: same IV as frame " .. r.reused) or "")
        return r
    end)
    local item = tree:add(chatlab_c, tvb(offset, C_FRAME_LEN), "Original program: frame " .. f.n .. ", 268 bytes")
    item:add(C.frame, f.n):set_generated()
    if f.nokey then item:add_proto_expert_info(CE.midstream) end
    item:add(C.iv, tvb(offset, C_IV_LEN))
    item:add(C.ciphertext, tvb(offset + C_IV_LEN, C_FRAME_LEN - C_IV_LEN))
    if f.reused then
        item:add(C.iv_reused, f.reused):set_generated()
        item:add_proto_expert_info(CE.iv_reuse, "IV reuse: same IV as frame " .. f.reused ..
            ": the same keystream, so XOR of the ciphertexts is XOR of the texts")
    end
    return C_FRAME_LEN
end

local function chatlab_c_dissector(tvb, pinfo, tree)
    local len = tvb:len()
    if len == 0 then return 0 end
    local st = stream_of(pinfo)
    st.mode = "original"
    if st.server == nil and pinfo.src_port == ORIGINAL_PORT then
        st.server = endpoint(pinfo.src, pinfo.src_port)
    elseif st.server == nil and pinfo.dst_port == ORIGINAL_PORT then
        st.server = endpoint(pinfo.dst, pinfo.dst_port)
    end
    pinfo.cols.protocol = "chatlab_c"
    local offset, summary = 0, {}
    while offset < len do
        local n = dissect_c_unit(tvb, pinfo, tree, offset, st)
        if n < 0 then
            pinfo.desegment_offset = offset
            pinfo.desegment_len = n == -1 and DESEGMENT_ONE_MORE_SEGMENT or -n
            break
        end
        local c = cached(pinfo, tvb, offset)
        if c then
            summary[#summary + 1] = c.info
        end
        offset = offset + n
    end
    show_info(pinfo, tvb, summary)
    return len
end
chatlab_c.dissector = chatlab_c_dissector

------------------------------------------------------------------------
-- Finding the protocols: by content, by port, by Decode As.

-- records_fill reports whether b is nothing but whole data records, a
-- capture begun after the handshake.
local function records_fill(tvb)
    local off, len = 0, tvb:len()
    while off < len do
        if len - off < HEADER_LEN then return false end
        local blen = tvb(off + 1, 4):uint()
        if tvb(off, 1):uint() ~= TYPE_DATA or blen < CBC_IV_LEN or blen > MAX_RECORD_BODY then return false end
        off = off + HEADER_LEN + blen
    end
    return off == len
end

local function chatlab_heuristic(tvb, pinfo, tree)
    local len = tvb:len()
    if len == 0 then return false end
    local st = streams[stream_key(pinfo)]
    if st and (st.mode == "plain" or st.mode == "secure") then
        chatlab_dissector(tvb, pinfo, tree)
        return true
    end
    if st and st.mode then return false end
    local head = tvb:raw(0, math.min(len, 64))
    local secure_hello = len >= HEADER_LEN + 4 and head:byte(1) == TYPE_HELLO and head:sub(6, 9) == "CLAB"
    local plain_banner = head:sub(1, 2) == "* " and head:find("chatlab", 1, true) ~= nil
    if not (secure_hello or plain_banner or records_fill(tvb)) then return false end
    chatlab_dissector(tvb, pinfo, tree)
    return true
end

local function chatlab_c_heuristic(tvb, pinfo, tree)
    local len = tvb:len()
    if len == 0 then return false end
    local st = streams[stream_key(pinfo)]
    if st and st.mode == "original" then
        chatlab_c_dissector(tvb, pinfo, tree)
        return true
    end
    if st and st.mode then return false end
    if tvb:raw(0, math.min(len, #PEM_BEGIN)) ~= PEM_BEGIN then return false end
    st = stream_of(pinfo)
    st.server = endpoint(pinfo.src, pinfo.src_port)
    chatlab_c_dissector(tvb, pinfo, tree)
    return true
end

chatlab:register_heuristic("tcp", chatlab_heuristic)
chatlab_c:register_heuristic("tcp", chatlab_c_heuristic)

local tcp_port = DissectorTable.get("tcp.port")
tcp_port:add(CHATLAB_PORT, chatlab)
tcp_port:add(ORIGINAL_PORT, chatlab_c)
