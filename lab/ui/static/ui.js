// The live page of `python -m lab ui`: plain JavaScript and SVG, no build step, nothing loaded
// from elsewhere. The server sends a `snapshot` (the graph, the last minute of probe samples as
// runs, recent actions, every entry) and then `update`s (new samples, changed entries); see
// lab/ui/view.py.
"use strict";

const TOKEN = new URLSearchParams(location.hash.slice(1)).get("token") || "";
const SVG_NS = "http://www.w3.org/2000/svg";
const WINDOW = 60; // seconds of timeline shown
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
                 "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31"];
const LOST = "#d62728";
const NODE_ACTIONS = {
  server: [["halt", "halt"], ["start", "start / restart"], ["kill-dns", "kill DNS process"],
           ["hang", "hang host"], ["resume", "resume host"], ["drain", "drain"],
           ["undrain", "undrain"]],
  // what `lab te` does to the site's announcement: shown apart, as "traffic engineering"
  site: [["prepend-more", "prepend +1"], ["prepend-none", "no prepend"],
         ["no-export", "NO_EXPORT (local)"], ["export", "global again"],
         ["withdraw", "withdraw"], ["announce", "announce again"],
         ["as-configured", "as configured"]],
  router: [["halt", "halt"], ["start", "start / restart"], ["hang", "hang host"],
           ["resume", "resume host"]],
  client: [["halt", "halt"], ["start", "start"]],
};
const LINK_ACTIONS = [["cut", "cut link"], ["restore", "restore link"],
                      ["silence", "silence link"], ["unsilence", "unsilence link"]];

const state = {
  graph: null, lanes: [], families: [], entries: {}, runs: [], samples: [], actions: new Map(),
  colours: {}, offset: 0, selected: null, nodes: new Map(), links: new Map(), mode: "",
  servers: new Set(), probeInterval: 0.1,
};

const $ = (selector) => document.querySelector(selector);

function el(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

function serverNow() { return performance.now() / 1000 + state.offset; }

function colourOf(server) {
  if (server === null || server === undefined) return LOST;
  return state.colours[server] || "#7f7f7f";
}

// --- the event stream ------------------------------------------------------------------------

function connect() {
  const source = new EventSource("/events?token=" + encodeURIComponent(TOKEN));
  const pill = $("#connection");
  source.addEventListener("snapshot", (e) => { pill.textContent = "live"; pill.className = "pill live"; snapshot(JSON.parse(e.data)); });
  source.addEventListener("update", (e) => update(JSON.parse(e.data)));
  source.addEventListener("down", (e) => down(JSON.parse(e.data)));
  source.onerror = () => {
    pill.textContent = "disconnected: retrying"; pill.className = "pill lost";
    if (!TOKEN) banner("Open the address `python -m lab ui` printed: it carries the page's token.");
  };
}

function banner(text) {
  const box = $("#banner");
  box.hidden = !text;
  box.textContent = text || "";
}

function down(message) {
  banner(message.message + " — this page picks it up when it is.");
  $("#lab-name").textContent = "'" + message.lab + "'";
}

function snapshot(message) {
  banner("");
  state.offset = message.now - performance.now() / 1000;
  state.graph = message.graph;
  state.lanes = message.lanes;
  state.families = message.families;
  state.mode = message.mode;
  state.entries = {};
  state.runs = message.runs;
  state.probeInterval = message.probe_interval;
  state.samples = [];
  timeline.reset();
  state.actions = new Map();
  for (const action of message.actions) state.actions.set(action.id, action);
  state.colours = {};
  const servers = message.graph.nodes.filter((n) => n.role === "server");
  servers.forEach((n, i) => { state.colours[n.name] = PALETTE[i] || `hsl(${(i * 137) % 360} 60% 45%)`; });
  state.servers = new Set(servers.map((n) => n.name));
  $("#lab-name").textContent = "'" + message.lab + "'";
  $("#lab-mode").textContent = message.mode + " mode";
  drawGraph();
  drawLegend();
  buildClients();
  buildTables();
  applyEntries(message.entries);
  drawLog();
  select(state.selected && (state.nodes.has(state.selected.name) || state.links.has(state.selected.name)) ? state.selected : null);
  performance.mark("snapshot-drawn"); // bench.ui_scale: the time to the first whole picture
}

function update(message) {
  state.offset = message.now - performance.now() / 1000;
  for (const row of message.samples) state.samples.push(row);
  timeline.add(message.samples);
  const horizon = message.now - WINDOW - 5;
  let drop = 0;
  while (drop < state.samples.length && state.samples[drop][1] < horizon) drop++;
  if (drop) state.samples.splice(0, drop);
  if (message.actions.length) {
    for (const action of message.actions) state.actions.set(action.id, action);
    drawLog();
  }
  applyEntries(message.entries);
}

function applyEntries(entries) {
  for (const [key, value] of Object.entries(entries)) {
    if (value === null) delete state.entries[key]; else state.entries[key] = value;
  }
  for (const [key, value] of Object.entries(entries)) {
    if (value === null) continue;
    const [kind, name] = [key.slice(0, key.indexOf("/")), key.slice(key.indexOf("/") + 1)];
    if (kind === "node") drawNodeState(name, value);
    else if (kind === "link") drawLinkState(name, value);
    else if (kind === "session") drawSession(name, value);
    else if (kind === "client") drawClient(name, value);
    else if (kind === "router") drawRouter(name, value);
    else if (kind === "server") drawServer(name);
  }
  for (const key of Object.keys(entries)) {
    if (key.startsWith("node/") && state.servers.has(key.slice(5))) drawServer(key.slice(5));
  }
  if (state.selected) drawSelection();
}

// --- the graph -------------------------------------------------------------------------------

function drawGraph() {
  const graph = $("#graph");
  graph.replaceChildren();
  state.nodes.clear();
  state.links.clear();
  const count = state.graph.nodes.length;
  const width = 1000, height = 560, margin = count > 40 ? 30 : 60;
  const scale = count > 60 ? 0.6 : count > 25 ? 0.8 : 1;
  graph.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const place = new Map(state.graph.nodes.map((n) => [n.name,
    [margin + n.x * (width - 2 * margin), margin + n.y * (height - 2 * margin)]]));
  const links = svg("g"), sessions = svg("g"), nodes = svg("g");
  graph.append(links, sessions, nodes);
  for (const link of state.graph.links) {
    const [x1, y1] = place.get(link.a), [x2, y2] = place.get(link.b);
    const line = svg("line", { x1, y1, x2, y2, class: "link" });
    const hit = svg("line", { x1, y1, x2, y2, class: "link-hit", "data-link": link.id });
    const title = svg("title");
    title.textContent = `${link.label} ${link.network}` + (link.bgp ? ` (${link.bgp})` : "");
    hit.append(title);
    hit.addEventListener("click", () => select({ kind: "link", name: link.id }));
    links.append(line, hit);
    let marker = null;
    if (link.bgp) {
      marker = svg("circle", { cx: (x1 + x2) / 2, cy: (y1 + y2) / 2, r: 5 * scale + 1,
                               class: "session", "data-session": link.id });
      marker.append(svg("title"));
      sessions.append(marker);
    }
    state.links.set(link.id, { link, line, hit, marker });
  }
  for (const node of state.graph.nodes) {
    const [x, y] = place.get(node.name);
    const group = svg("g", { class: `node ${node.role}`, "data-node": node.name,
                             transform: `translate(${x} ${y})` });
    let shape;
    if (node.role === "server") {
      shape = svg("rect", { x: -22 * scale, y: -14 * scale, width: 44 * scale, height: 28 * scale,
                            rx: 4, class: "shape" });
      shape.style.fill = colourOf(node.name);
    } else if (node.role === "router") {
      shape = svg("circle", { r: 15 * scale, class: "shape" });
    } else {
      shape = svg("rect", { x: -11 * scale, y: -11 * scale, width: 22 * scale,
                            height: 22 * scale, class: "shape" });
    }
    const label = svg("text", { y: node.role === "client" ? 24 * scale + 4 : -20 * scale - 2 });
    label.textContent = node.name;
    const title = svg("title");
    title.textContent = `${node.name} (${node.role}${node.asn ? ", AS " + node.asn : ""})`;
    group.append(shape, label, title);
    group.addEventListener("click", () => select({ kind: "node", name: node.name }));
    nodes.append(group);
    state.nodes.set(node.name, { node, group, shape });
  }
}

function drawLegend() {
  const legend = $("#legend");
  legend.replaceChildren();
  for (const [server, colour] of Object.entries(state.colours)) {
    const item = el("span");
    const dot = el("i"); dot.style.background = colour;
    item.append(dot, document.createTextNode("answered by " + server));
    legend.append(item);
  }
  const lost = el("span"); const dot = el("i"); dot.style.background = LOST;
  lost.append(dot, document.createTextNode("no answer"));
  legend.append(lost, el("span", { class: "muted" },
    "routers take the colour of the site their best path leads to; dots on links: BGP sessions"));
}

function drawNodeState(name, value) {
  const item = state.nodes.get(name);
  if (!item) return;
  item.group.classList.remove("halted", "hung", "degraded", "up");
  item.group.classList.add(value.state);
  if (item.node.role === "router") drawRouter(name, state.entries["router/" + name]);
}

function drawLinkState(id, value) {
  const item = state.links.get(id);
  if (!item) return;
  item.line.setAttribute("class", "link " + value.state);
}

function drawSession(id, value) {
  const item = state.links.get(id);
  if (!item || !item.marker) return;
  item.marker.setAttribute("class", "session " + (value.up ? "up" : "down"));
  item.marker.firstChild.textContent = `BGP ${item.link.label}: ${value.state}`;
}

// --- clients ---------------------------------------------------------------------------------

function buildClients() {
  const box = $("#clients");
  box.replaceChildren();
  for (const node of state.graph.nodes.filter((n) => n.role === "client")) {
    const tile = el("div", { class: "tile", id: "client-" + node.name, "data-client": node.name });
    tile.append(el("div", { class: "name" }, node.name));
    for (const family of state.families) {
      const lane = el("div", { class: "lane", "data-family": family });
      lane.append(el("span", { class: "muted" }, family), el("span", { class: "server none" }, "…"));
      tile.append(lane);
    }
    box.append(tile);
  }
}

function drawClient(name, value) {
  const tile = document.getElementById("client-" + name);
  if (!tile) return;
  for (const [family, lane] of Object.entries(value.lanes)) {
    const cell = tile.querySelector(`.lane[data-family="${family}"] .server`);
    if (!cell) continue;
    const text = lane.server || ("no answer" + (lane.error ? ` (${lane.error})` : ""));
    if (cell.textContent !== text && lane.since !== null) {
      // how long after the query that first saw the change the page shows it (the target: < 1 s)
      cell.dataset.shownAfter = (serverNow() - lane.since).toFixed(3);
    }
    cell.textContent = text;
    cell.className = "server" + (lane.server ? "" : " none");
    cell.style.color = lane.server ? colourOf(lane.server) : "";
    tile.style.borderColor = colourOf(value.lanes[state.families[0]]?.server ?? null);
  }
  const item = state.nodes.get(name);
  if (item) {
    const first = value.lanes[state.families[0]];
    item.shape.style.fill = first && first.server ? colourOf(first.server) : "#fff";
    item.group.classList.toggle("lost", !(first && first.server));
  }
}

// --- servers and routers ---------------------------------------------------------------------

function buildTables() {
  const servers = $("#servers tbody"), routers = $("#routers tbody");
  servers.replaceChildren();
  routers.replaceChildren();
  for (const node of state.graph.nodes) {
    if (node.role === "server") servers.append(el("tr", { id: "server-" + node.name }));
    if (node.role === "router") routers.append(el("tr", { id: "router-" + node.name }));
  }
}

function sessionsOf(name) {
  const out = [];
  for (const { link } of state.links.values()) {
    if (!link.bgp || (link.a !== name && link.b !== name)) continue;
    const session = state.entries["session/" + link.id];
    out.push([link.a === name ? link.b : link.a, session]);
  }
  return out;
}

function cell(text, cls = "") { return el("td", cls ? { class: cls } : {}, text); }

// A cell of "name state" lines, each coloured by whether its state is the good one.
function listCell(pairs, good) {
  const td = el("td");
  if (!pairs.length) td.textContent = "—";
  for (const [name, value] of pairs) {
    td.append(el("div", { class: good.includes(value) ? "" : "bad" }, `${name} ${value}`));
  }
  return td;
}

function drawServer(name) {
  const row = document.getElementById("server-" + name);
  if (!row) return;
  const value = state.entries["server/" + name] || {};
  const node = state.entries["node/" + name] || { state: "?" };
  const bgp = sessionsOf(name).map(([peer, s]) => [peer, s ? s.state : "?"]);
  const prefixes = Object.entries(value.prefixes || {});
  const drain = value.drain && value.drain !== "none" ? value.drain : "";
  const announced = cell(value.announced || "—", value.te ? "warn" : "");
  row.replaceChildren(
    el("th", {}, name), cell(node.state, node.state === "up" ? "" : "bad"),
    cell(value.dns || "—", value.dns === "running" ? "good" : "bad"),
    cell(value.qps === null || value.qps === undefined ? "—" : String(value.qps)),
    listCell(bgp, ["Established"]), listCell(Object.entries(value.bfd || {}), ["Up", "UP"]),
    listCell(Object.entries(value.checks || {}), ["passing"]),
    drain && !prefixes.length ? cell(drain, "warn") : listCell(prefixes, ["announced"]),
    announced);
  const item = state.nodes.get(name);
  if (item) item.shape.style.fill = node.state === "halted" ? "" : colourOf(name);
}

function drawRouter(name, value) {
  const row = document.getElementById("router-" + name);
  const node = state.entries["node/" + name] || { state: "?" };
  if (!row || !value) return;
  const paths = el("td");
  for (const family of state.families) {
    const best = value.paths[family];
    const line = el("div", { "data-family": family });
    if (!best) {
      line.textContent = `${family}: no route`;
      line.className = "bad";
    } else {
      const site = el("b", {}, best.site || "?");
      site.style.color = colourOf(best.site);
      line.append(document.createTextNode(`${family}: → `), site,
        document.createTextNode(` via ${best.next_hop_node || best.next_hop} (${best.kind}, AS path ${best.as_path || "—"}; ${best.paths} path${best.paths === 1 ? "" : "s"}${best.reason ? ", won on " + best.reason : ""})`));
    }
    paths.append(line);
  }
  row.replaceChildren(el("th", {}, name), cell(node.state, node.state === "up" ? "" : "bad"), paths);
  const item = state.nodes.get(name);
  if (item) {
    const best = value.paths[state.families[0]];
    item.shape.style.fill = node.state === "halted" ? "" : best ? colourOf(best.site) : "#fff";
  }
}

// --- selection and actions -------------------------------------------------------------------

function select(selection) {
  state.selected = selection;
  document.querySelectorAll(".selected").forEach((e) => e.classList.remove("selected"));
  if (selection) {
    const item = selection.kind === "node" ? state.nodes.get(selection.name)?.group
                                           : state.links.get(selection.name)?.hit;
    item?.classList.add("selected");
  }
  drawSelection(true);
}

function drawSelection(rebuild = false) {
  const detail = $("#selection-detail"), buttons = $("#buttons");
  const selection = state.selected;
  $("#selection-help").hidden = Boolean(selection);
  if (!selection) { detail.replaceChildren(); buttons.replaceChildren(); return; }
  let text, actions;
  if (selection.kind === "node") {
    const { node } = state.nodes.get(selection.name);
    const entry = state.entries["node/" + node.name] || { state: "?", daemons: [] };
    const daemons = entry.daemons.map(([d, s]) => `${d} ${s}`).join(", ") || "no daemons";
    text = `${node.name}: ${node.role}${node.asn ? ", AS " + node.asn : ""} — ${entry.state}; ${daemons}`;
    actions = NODE_ACTIONS[node.role] || [];
    if (node.role === "server") {
      const announced = state.entries["server/" + node.name]?.announced;
      if (announced) text += `; announces ${announced}`;
    }
  } else {
    const { link } = state.links.get(selection.name);
    const entry = state.entries["link/" + link.id] || { state: "?" };
    const session = state.entries["session/" + link.id];
    text = `link ${link.label} (${link.network}): ${entry.state}` +
           (session ? `; BGP ${session.state}` : "");
    actions = LINK_ACTIONS;
  }
  detail.textContent = text;
  if (!rebuild) return;
  buttons.replaceChildren();
  const groups = [[null, actions]];
  if (selection.kind === "node" && state.servers.has(selection.name)) {
    groups.push(["traffic engineering", NODE_ACTIONS.site]);
  }
  for (const [title, group] of groups) {
    const box = el("div", { class: "group" });
    if (title) box.append(el("span", { class: "muted" }, title + ": "));
    for (const [action, label] of group) {
      const button = el("button", { type: "button", "data-action": action,
                                    "data-target": selection.name }, label);
      // named as the server names it in the log and on the timeline (LabView.describe_action)
      const name = selection.kind === "node" ? selection.name
                                             : state.links.get(selection.name).link.label;
      const what = title ? `${name}: ${label}` : `${label} ${name}`;
      button.addEventListener("click", () => act(action, selection.name, what));
      box.append(button);
    }
    buttons.append(box);
  }
}

async function act(action, target, what) {
  const message = $("#message");
  message.textContent = `${what}: …`;
  message.className = "";
  try {
    const response = await fetch("/action", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Lab-Token": TOKEN },
      body: JSON.stringify({ action, target }),
    });
    const answer = await response.json();
    message.textContent = answer.message;
    message.className = answer.ok ? "done" : "failed";
  } catch (error) {
    message.textContent = `${what}: the server did not answer (${error})`;
    message.className = "failed";
  }
}

function drawLog() {
  const log = $("#log");
  log.replaceChildren();
  const now = serverNow();
  for (const action of [...state.actions.values()].sort((a, b) => b.id - a.id)) {
    const ago = Math.max(0, now - action.t).toFixed(1);
    const item = el("li", { class: action.state },
      `${action.text} (${ago} s ago): ${action.state === "running" ? "running…" : action.message}`);
    log.append(item);
  }
}

// --- the timeline ----------------------------------------------------------------------------
//
// The marks are drawn once, on a canvas of its own used as a ring: a column per slice of time,
// the oldest columns cleared and reused as time goes on. Each frame then draws only the
// samples that came since the last one, and copies the ring to the visible canvas in two
// pieces, "now" at the right edge; lane names, the time grid and the actions go on top. With
// many lanes the timeline scrolls in a box of its own, and only the lanes in view are copied:
// the work of a frame does not grow with the number of lanes.

const timeline = {
  ring: document.createElement("canvas"), width: 0, height: 0, perSecond: 0, drawnTo: null,
  pending: [], laneHeight: 24, top: 30, left: 110,

  reset() { this.width = 0; },  // a new snapshot: redraw everything at the next frame

  add(rows) { for (const row of rows) this.pending.push(row); },

  column(t) { return ((Math.floor(t * this.perSecond) % this.width) + this.width) % this.width; },

  // Clear the columns that time has reached since `from` (not the column of `from` itself,
  // which holds its samples): they last held samples a whole window ago.
  clear(g, from, to) {
    if (to - from >= WINDOW) { g.clearRect(0, 0, this.width, this.height); return; }
    const a = this.column(from) + 1, b = this.column(to) + 1;
    if (a <= b) g.clearRect(a, 0, b - a, this.height);
    else { g.clearRect(a, 0, this.width - a, this.height); g.clearRect(0, 0, b, this.height); }
  },

  // A run of samples from `start` to `end`: each covers the probe interval before it, so
  // that answers in a row draw a bar and a gap shows. It ends at the column of `end`: the
  // columns after it show the oldest time.
  mark(g, lane, start, end, server) {
    g.fillStyle = colourOf(server);
    const y = lane * this.laneHeight + 1, h = this.laneHeight - 2;
    const covered = (end - start + Math.min(state.probeInterval, 1)) * this.perSecond;
    const span = Math.min(this.width, Math.max(server === null ? 3 : 2, Math.floor(covered) + 1));
    const last = this.column(end), first = last - span + 1;
    if (first >= 0) g.fillRect(first, y, span, h);
    else { g.fillRect(0, y, last + 1, h); g.fillRect(this.width + first, y, -first, h); }
  },

  // Out of view: the ring is kept up to date (the marks), nothing is copied to the page.
  keep() {
    if (!this.width) return;  // drawn in full once it shows
    const now = serverNow(), ring = this.ring.getContext("2d");
    if (now > this.drawnTo) this.clear(ring, this.drawnTo, now);
    this.drawnTo = Math.max(this.drawnTo, now);
    const later = [];  // sent "after now" by the page's estimate of the server's clock
    for (const row of this.pending) {
      const [lane, sent, server] = row;
      if (sent > this.drawnTo) later.push(row);
      else if (sent >= now - WINDOW) this.mark(ring, lane, sent, sent, server);
    }
    this.pending = later;
  },

  // Everything again: after a snapshot, or when the canvas changed size.
  redraw(g, now) {
    g.clearRect(0, 0, this.width, this.height);
    state.runs.forEach((runs, lane) => {
      for (const [start, end, server] of runs) {
        if (end >= now - WINDOW) this.mark(g, lane, Math.max(start, now - WINDOW), end, server);
      }
    });
    this.pending = [];
    for (const row of state.samples) {
      const [lane, sent, server] = row;
      if (sent > now) this.pending.push(row);
      else if (sent >= now - WINDOW) this.mark(g, lane, sent, sent, server);
    }
    this.drawnTo = now;
  },

  draw() {
    const canvas = $("#timeline"), box = $("#timeline-box");
    const lanes = state.lanes.length;
    this.laneHeight = lanes > 24 ? 9 : lanes > 8 ? 16 : 24;
    const fullHeight = this.top + lanes * this.laneHeight + 22;
    // as tall as the box shows (at most 45 % of the window), the rest of the height scrolls
    const limit = Math.floor(window.innerHeight * 0.45);
    const cssWidth = canvas.clientWidth, cssHeight = Math.min(fullHeight, limit);
    $("#timeline-rest").style.height = (fullHeight - cssHeight) + "px";
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(cssWidth * ratio) || canvas.height !== Math.round(cssHeight * ratio)) {
      canvas.width = Math.round(cssWidth * ratio);
      canvas.height = Math.round(cssHeight * ratio);
      canvas.style.height = cssHeight + "px";
    }
    // the lanes in view: from `first`, `shown` pixels of the ring
    const scrolled = Math.min(box.scrollTop, fullHeight - cssHeight);
    const shown = Math.max(0, Math.min(lanes * this.laneHeight - scrolled, cssHeight - this.top - 22));
    const now = serverNow(), width = Math.max(1, Math.round(cssWidth - this.left - 10));
    const ringHeight = lanes * this.laneHeight;
    const ring = this.ring.getContext("2d");
    if (this.width !== width || this.height !== ringHeight) {
      this.width = this.ring.width = width;
      this.height = this.ring.height = Math.max(1, ringHeight);
      this.perSecond = width / WINDOW;
      this.redraw(ring, now);
    } else {
      this.keep();
    }
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, cssWidth, cssHeight);
    const x = (t) => this.left + width * (1 - (now - t) / WINDOW);
    // the ring's column for `now` ends up at the right edge
    const split = this.column(now) + 1;
    const { top, laneHeight } = this;
    g.imageSmoothingEnabled = false;
    if (shown > 0) {
      if (split < this.width) {
        g.drawImage(this.ring, split, scrolled, this.width - split, shown, this.left, top,
                    this.width - split, shown);
      }
      g.drawImage(this.ring, 0, scrolled, split, shown, this.left + this.width - split, top,
                  split, shown);
    }
    g.font = "11px system-ui, sans-serif";
    g.fillStyle = "#555";
    g.textBaseline = "middle";
    g.textAlign = "left";
    const firstLane = Math.floor(scrolled / laneHeight);
    for (let i = firstLane; i < lanes; i++) {
      const y = top + i * laneHeight - scrolled + laneHeight / 2;
      if (y > top + shown) break;
      const lane = state.lanes[i];
      g.fillText(`${lane.client} ${lane.family}`, 4, y);
    }
    const bottom = top + shown;
    g.strokeStyle = "rgba(0, 0, 0, .08)";
    g.textAlign = "center";
    for (let ago = 0; ago <= WINDOW; ago += 10) {
      const t = now - ago;
      g.beginPath(); g.moveTo(x(t), top); g.lineTo(x(t), bottom); g.stroke();
      g.fillStyle = "#555";
      g.fillText(ago ? `−${ago} s` : "now", Math.min(x(t), this.left + width - 12), bottom + 10);
    }
    g.textAlign = "left";
    const rowEnds = [-Infinity, -Infinity];  // two rows of action names: close ones alternate
    const actions = [...state.actions.values()].sort((a, b) => a.t - b.t);
    for (const action of actions) {
      if (action.t < now - WINDOW) continue;
      const at = x(action.t), row = rowEnds[0] <= at ? 0 : rowEnds[1] <= at ? 1 : 0;
      g.strokeStyle = action.state === "failed" ? LOST : "#000";
      g.beginPath(); g.moveTo(at, 4 + row * 12); g.lineTo(at, bottom); g.stroke();
      g.fillStyle = "#000";
      g.fillText(action.text, at + 3, 8 + row * 12);
      rowEnds[row] = at + 3 + g.measureText(action.text).width + 6;
    }
  },
};

// Frames while the timeline is in view: ten a second, five with many lanes.
let timelineInView = true;
new IntersectionObserver((seen) => { timelineInView = seen[0].isIntersecting; })
  .observe($("#timeline-box"));

function drawTimeline() {
  if (state.graph) {
    if (timelineInView) timeline.draw(); else timeline.keep();
  }
  setTimeout(() => requestAnimationFrame(drawTimeline), state.lanes.length > 24 ? 200 : 100);
}

connect();
requestAnimationFrame(drawTimeline);
setInterval(() => { if (state.actions.size) drawLog(); }, 1000);
