// chatlab's live view. The server decides, the page renders: messages
// arrive as JSON on one event stream (see package chatlab/sniff/web).
// Every string from the network goes into the page as text
// (textContent), never as markup.
"use strict";

const $ = (id) => document.getElementById(id);

// el makes an element with a class and, optionally, text.
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

const SVG = "http://www.w3.org/2000/svg";

// Field colours: the same name always gets the same colour, in the
// labels and in the bytes.
const fieldColour = {
  "type": 0, "length": 1, "nonce": 2, "seq": 3, "ciphertext": 4, "tag": 5,
  "magic": 0, "version": 1, "suite": 2, "public key": 6, "wrapped key": 6,
  "iv": 2, "pem": 6, "name": 3, "text": 7,
};
function colourOf(name, i) {
  const c = Object.prototype.hasOwnProperty.call(fieldColour, name) ? fieldColour[name] : i;
  return "f" + (c % 8);
}

const protoOrder = { plain: 0, secure: 1, legacy: 2, other: 3, unknown: 4 };

let state;
function reset(start) {
  state = {
    conns: new Map(),   // id -> {col, msgs, head, data}
    charts: new Map(),  // id -> {card, data}
    units: [],          // {el}, oldest first, at most maxUnits
    maxUnits: (start && start.history) || 2000,
    selected: null,
    lesson: null,
    section: -1,
  };
  const empty = el("p", "empty", "Waiting for a chat on the wire…");
  empty.id = "empty";
  $("columns").replaceChildren(empty);
  $("global-warnings").replaceChildren();
  $("charts").replaceChildren();
  $("notes").replaceChildren();
  $("capture").textContent = "";
  clearBytes();
  $("lesson").hidden = true;
  $("main").classList.remove("with-lesson");
}

// ---- conversations ----

function column(id) {
  let c = state.conns.get(id);
  if (c) return c;
  const empty = $("empty");
  if (empty) empty.remove();
  const col = el("div", "column");
  col.dataset.conn = String(id);
  const head = el("div", "head");
  const msgs = el("div", "msgs");
  col.append(head, msgs);
  $("columns").append(col);
  c = { col, msgs, head, data: { id, proto: "unknown", protoName: "unknown", client: "", server: "" } };
  state.conns.set(id, c);
  drawHead(c);
  return c;
}

function drawHead(c) {
  const d = c.data;
  c.col.className = "column " + d.proto;
  c.head.replaceChildren(
    el("div", "proto", "#" + d.id + "  " + d.protoName),
    el("div", "addr mono", d.client + " → " + d.server));
}

function onConn(m) {
  const c = column(m.id);
  c.data = m;
  drawHead(c);
  const ch = state.charts.get(m.id);
  if (ch) drawChart(ch.data);
}

// append puts a node at the end of a connection's column, keeping the
// column scrolled to the newest unless someone scrolled up to read.
function append(id, node) {
  const c = column(id);
  const m = c.msgs;
  const atEnd = m.scrollHeight - m.scrollTop - m.clientHeight < 60;
  m.append(node);
  if (atEnd) m.scrollTop = m.scrollHeight;
  state.units.push(node);
  while (state.units.length > state.maxUnits) state.units.shift().remove();
}

function onUnit(u) {
  const box = el("div", "unit " + (u.dir === "s2c" ? "s2c" : "c2s") + " kind-" + u.kind);
  box.tabIndex = 0;
  const arrow = u.dir === "s2c" ? "← " : "→ ";
  let meta = arrow + (u.message && u.kind === "line" ? u.message.kind : u.kindName);
  if (u.number) meta += " #" + u.number;
  meta += " · " + u.size + " bytes";
  box.append(el("div", "meta", meta));

  if (u.kind === "line" && u.message) {
    box.append(messageText(u.message, "text"));
  } else {
    if (u.fields.length) {
      const chips = el("div", "chips");
      u.fields.forEach((f, i) => {
        const chip = el("span", "chip " + colourOf(f.name, i), f.name + " " + f.value);
        chip.title = f.name + " " + f.value;
        chips.append(chip);
      });
      box.append(chips);
    }
    if (u.message) {
      const o = el("div", "opened");
      o.append(el("div", "via", "🔓 " + u.message.via + " · " + u.message.kind));
      o.append(messageText(u.message, "text"));
      box.append(o);
    }
  }
  if (u.note) box.append(el("div", "meta", u.note));
  for (const w of u.warnings) box.append(el("div", "warn", "⚠ " + w.text));
  const pick = () => select(box, u);
  box.addEventListener("click", pick);
  box.addEventListener("keydown", (e) => { if (e.key === "Enter") pick(); });
  append(u.conn, box);
}

function messageText(m, cls) {
  const t = el("div", cls);
  if (m.from) {
    t.append(el("span", "from", m.from), document.createTextNode(": "));
  }
  t.append(document.createTextNode(m.text + (m.cut ? " …" : "")));
  return t;
}

function onWarning(w) {
  const box = el("div", "warn", "⚠ " + w.text);
  if (!w.conn) {
    $("global-warnings").append(box);
    return;
  }
  append(w.conn, box);
}

function onRecovery(r) {
  const box = el("div", "warn recovery");
  box.append(el("div", "", "⚠ read without the key: " + r.seen + " " + r.what + "s shared one keystream, " +
    r.certain + " bytes certain, " + r.likely + " likely, " + r.unknown + " unknown"));
  for (const s of r.says) box.append(el("div", "meta", s));
  for (const u of r.units) box.append(el("div", "mono", "#" + u.number + " " + u.text));
  append(r.conn, box);
}

// ---- bytes ----

function clearBytes() {
  $("bytes-title").textContent = "Bytes";
  $("bytes-hint").hidden = false;
  $("fields").replaceChildren();
  $("hex").replaceChildren();
}

function select(box, u) {
  if (state.selected) state.selected.classList.remove("selected");
  state.selected = box;
  box.classList.add("selected");
  $("bytes-hint").hidden = true;
  let title = (u.dir === "s2c" ? "← " : "→ ") + u.kindName;
  if (u.number) title += " #" + u.number;
  title += " · " + u.size + " bytes · conn " + u.conn + (u.packet ? " · packet " + u.packet : "");
  $("bytes-title").textContent = title;

  const list = $("fields");
  list.replaceChildren();
  const n = u.hex.length / 2;
  const cls = new Array(n).fill("");
  u.fields.forEach((f, i) => {
    const c = colourOf(f.name, i);
    for (let j = f.off; j < f.off + f.len && j < n; j++) cls[j] = c;
    const li = el("li");
    li.append(el("span", "chip " + c, f.name), el("span", "val", f.value),
      el("span", "range", f.len ? "[" + f.off + "–" + (f.off + f.len - 1) + "]" : "[" + f.off + "]"));
    list.append(li);
  });
  for (const k of u.keys) {
    const li = el("li");
    li.append(el("span", "chip f7", k.name), el("span", "val", k.hex));
    list.append(li);
  }
  drawHex(u.hex, cls, u.cut ? u.size : n);
}

// drawHex fills the bytes pane: offset, hex and ASCII, each byte in the
// colour of the field it belongs to. Runs of one colour share a span.
function drawHex(hex, cls, size) {
  const pre = $("hex");
  pre.replaceChildren();
  const perRow = pre.clientWidth > 800 ? 16 : 8;
  const n = hex.length / 2;
  const bytes = new Array(n);
  for (let i = 0; i < n; i++) bytes[i] = parseInt(hex.substr(2 * i, 2), 16);
  const frag = document.createDocumentFragment();
  const run = (from, to, text) => {
    // to is exclusive; text(i) is what byte i shows as.
    let i = from;
    while (i < to) {
      let j = i;
      let s = "";
      while (j < to && cls[j] === cls[i]) { s += text(j); j++; }
      frag.append(cls[i] ? el("span", "b " + cls[i], s) : document.createTextNode(s));
      i = j;
    }
  };
  for (let row = 0; row < n; row += perRow) {
    const end = Math.min(row + perRow, n);
    frag.append(el("span", "off", row.toString(16).padStart(4, "0")), document.createTextNode("  "));
    run(row, end, (i) => bytes[i].toString(16).padStart(2, "0") + (i + 1 < end ? " " : ""));
    frag.append(document.createTextNode(" ".repeat(3 * (perRow - (end - row)) + 2)));
    run(row, end, (i) => (bytes[i] >= 0x20 && bytes[i] < 0x7f ? String.fromCharCode(bytes[i]) : "."));
    frag.append(document.createTextNode("\n"));
  }
  if (size > n) frag.append(el("span", "off", "… " + (size - n) + " more bytes not kept\n"));
  pre.append(frag);
}

// ---- pictures ----

function onStats(s) {
  let ch = state.charts.get(s.conn);
  if (!ch) {
    ch = { card: el("div", "chart"), data: s };
    state.charts.set(s.conn, ch);
  }
  ch.data = s;
  drawChart(s);
  // Plain beside secure: order the cards by kind, then by connection.
  const cards = [...state.charts.values()].filter((c) => c.data.bytes > 0 || c.data.final);
  cards.sort((a, b) => (protoOrder[a.data.proto] - protoOrder[b.data.proto]) || (a.data.conn - b.data.conn));
  $("charts").replaceChildren(...cards.map((c) => c.card));
}

function drawChart(s) {
  const ch = state.charts.get(s.conn);
  if (!ch) return;
  const conn = state.conns.get(s.conn);
  const proto = conn ? conn.data.proto : s.proto;
  const card = ch.card;
  card.className = "chart " + proto;
  card.dataset.conn = String(s.conn);
  const name = s.conn ? "#" + s.conn + "  " + (conn ? conn.data.protoName : s.protoName) : s.protoName;
  const nums = el("div", "nums");
  nums.append(el("span", "", s.entropy.toFixed(2) + " bits/byte"),
    el("span", "", Math.round(100 * s.printable) + "% printable"));
  const size = plural(s.bytes, "byte") + ", " + plural(s.packets, "packet") + (s.final ? " (end)" : "");
  card.replaceChildren(el("div", "name", name), histogram(s.hist), axis(), nums);
  // The sample size, and whether it is too small to mean anything.
  card.append(s.small ? el("div", "warn", "⚠ " + plural(s.bytes, "byte") + ": too few (< 1 KiB)") : el("div", "size", size));
  if (s.ivReuse) card.append(el("div", "warn", "⚠ " + s.ivReuse + " IV reuses"));
}

// histogram draws 256 bars, one per byte value, on a shaded band where
// printable ASCII lives: text piles up there, ciphertext spreads flat.
function histogram(hist) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 256 100");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  const band = document.createElementNS(SVG, "rect");
  band.setAttribute("class", "print");
  band.setAttribute("x", "32");
  band.setAttribute("y", "0");
  band.setAttribute("width", "95");
  band.setAttribute("height", "100");
  svg.append(band);
  let max = 0;
  for (const v of hist) max = Math.max(max, v);
  let d = "";
  if (max > 0) {
    hist.forEach((v, i) => {
      if (!v) return;
      const h = Math.max(1, (100 * v) / max);
      d += "M" + i + " 100V" + (100 - h).toFixed(2) + "h1V100Z";
    });
  }
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("class", "v");
  path.setAttribute("d", d);
  svg.append(path);
  const title = document.createElementNS(SVG, "title");
  title.textContent = "byte values 0x00 to 0xff; the shaded band is printable ASCII";
  svg.append(title);
  return svg;
}

function plural(n, noun) {
  return n.toLocaleString("en") + " " + noun + (n === 1 ? "" : "s");
}

function axis() {
  const a = el("div", "nums mono axis");
  a.append(el("span", "", "00"), el("span", "", "20 ░ text ░ 7e"), el("span", "", "ff"));
  return a;
}

// ---- lesson ----

function onLesson(m) {
  state.lesson = m;
  state.section = -1;
  $("lesson").hidden = false;
  $("main").classList.add("with-lesson");
  $("lesson-title").textContent = m.title;
  drawSection();
}

function onSection(m) {
  state.section = m.index;
  drawSection();
}

function drawSection() {
  const l = state.lesson;
  if (!l) return;
  const i = state.section;
  const body = $("lesson-body");
  body.replaceChildren();
  const last = i >= l.sections.length - 1;
  $("next").disabled = i < 0 || last;
  $("lesson-where").textContent = i < 0 ? "starting…" : "section " + (i + 1) + " of " + l.sections.length;
  if (i < 0 || i >= l.sections.length) return;
  const s = l.sections[i];
  if (s.heading) body.append(el("h3", "", s.heading));
  markdown(body, s.body);
  body.scrollTop = 0;
}

// markdown renders the lessons' plain Markdown: paragraphs, "- " lists,
// fenced code, `code` and **bold**. It builds elements; text stays text.
function markdown(into, src) {
  const lines = src.split("\n");
  let para = [];
  let list = null;
  const flush = () => {
    if (para.length) { into.append(inline(el("p"), para.join(" "))); para = []; }
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith("```")) {
      flush(); list = null;
      const code = [];
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) code.push(lines[i]);
      into.append(el("pre", "", code.join("\n")));
      continue;
    }
    if (/^\s*$/.test(line)) { flush(); list = null; continue; }
    const item = /^\s*(?:[-*]|\d+\.)\s+(.*)$/.exec(line);
    if (item) {
      flush();
      if (!list) { list = el("ul"); into.append(list); }
      list.append(inline(el("li"), item[1]));
      continue;
    }
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) { flush(); list = null; into.append(el("h3", "", h[1])); continue; }
    if (list && /^\s+/.test(line)) {
      const li = list.lastChild;
      li.append(document.createTextNode(" "));
      inline(li, line.trim());
      continue;
    }
    list = null;
    para.push(line.trim());
  }
  flush();
}

function inline(into, text) {
  const re = /(`[^`]+`|\*\*[^*]+\*\*)/g;
  let at = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > at) into.append(document.createTextNode(text.slice(at, m.index)));
    const t = m[0];
    into.append(t.startsWith("`") ? el("code", "", t.slice(1, -1)) : el("strong", "", t.slice(2, -2)));
    at = m.index + t.length;
  }
  if (at < text.length) into.append(document.createTextNode(text.slice(at)));
  return into;
}

function next() {
  if (!state.lesson || $("next").disabled) return;
  fetch("/next?from=" + state.section, { method: "POST", headers: { "X-Chatlab": "next" } })
    .then((r) => { if (r.status === 403) note("only the machine running the lesson can advance it"); })
    .catch(() => {});
}

// ---- the rest ----

function note(text) {
  const n = $("notes");
  n.append(el("p", "", text));
  while (n.childNodes.length > 3) n.firstChild.remove();
}

function onCapture(m) {
  $("capture").textContent = "kernel: " + m.received + " received, " + m.dropped + " dropped";
}

const handlers = {
  start: (m) => {
    reset(m);
    $("title").textContent = m.title;
    document.title = m.title;
  },
  conn: onConn,
  unit: onUnit,
  warning: onWarning,
  recovery: onRecovery,
  stats: onStats,
  capture: onCapture,
  lesson: onLesson,
  section: onSection,
  note: (m) => note(m.text),
  done: (m) => { const s = $("status"); s.textContent = "■ " + m.text; s.className = "status done"; },
};

function connect() {
  const status = $("status");
  const es = new EventSource("/events");
  es.onopen = () => {
    if (!status.className.includes("done")) { status.textContent = "● live"; status.className = "status live"; }
  };
  es.onerror = () => { status.textContent = "reconnecting…"; status.className = "status lost"; };
  es.onmessage = (e) => {
    let m;
    try { m = JSON.parse(e.data); } catch (err) { return; }
    const h = handlers[m.type];
    if (h) h(m);
  };
}

function theme() {
  const root = document.documentElement;
  const saved = localStorage.getItem("chatlab-theme");
  if (saved) root.dataset.theme = saved;
  $("theme").addEventListener("click", () => {
    const dark = root.dataset.theme ? root.dataset.theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
    root.dataset.theme = dark ? "light" : "dark";
    localStorage.setItem("chatlab-theme", root.dataset.theme);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  reset(null);
  theme();
  $("next").addEventListener("click", next);
  document.addEventListener("keydown", (e) => {
    if (e.key === " " && !(e.target instanceof HTMLButtonElement) && state.lesson) {
      e.preventDefault();
      next();
    }
  });
  connect();
});
