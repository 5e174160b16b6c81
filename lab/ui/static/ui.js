// The live page of `python -m lab ui`: plain JavaScript and SVG, no build step, nothing loaded
// from elsewhere. The server sends a `snapshot` (the graph, recent probe samples and actions,
// every entry) and then `update`s (new samples, changed entries); see lab/ui/view.py.
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
           ["undrain", "undrain"], ["prepend-more", "prepend +1"], ["prepend-none", "no prepend"],
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
  graph: null, lanes: [], families: [], entries: {}, samples: [], actions: new Map(),
  colours: {}, offset: 0, selected: null, nodes: new Map(), links: new Map(), mode: "",
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
  state.samples = message.samples.slice();
  state.actions = new Map();
  for (const action of message.actions) state.actions.set(action.id, action);
  state.colours = {};
  message.graph.nodes.filter((n) => n.role === "server")
    .forEach((n, i) => { state.colours[n.name] = PALETTE[i] || `hsl(${(i * 137) % 360} 60% 45%)`; });
  $("#lab-name").textContent = "'" + message.lab + "'";
  $("#lab-mode").textContent = message.mode + " mode";
  drawGraph();
  drawLegend();
  buildClients();
  buildTables();
  applyEntries(message.entries);
  drawLog();
  select(state.selected && (state.nodes.has(state.selected.name) || state.links.has(state.selected.name)) ? state.selected : null);
}

function update(message) {
  state.offset = message.now - performance.now() / 1000;
  for (const row of message.samples) state.samples.push(row);
  const horizon = message.now - WINDOW - 30;
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
    if (key.startsWith("node/") && state.graph.nodes.find((n) => "node/" + n.name === key && n.role === "server")) {
      drawServer(key.slice(5));
    }
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

function drawServer(name) {
  const row = document.getElementById("server-" + name);
  if (!row) return;
  const value = state.entries["server/" + name] || {};
  const node = state.entries["node/" + name] || { state: "?" };
  const bgp = sessionsOf(name).map(([peer, s]) => `${peer} ${s ? s.state : "?"}`).join(", ");
  const bfd = Object.entries(value.bfd || {}).map(([peer, s]) => `${peer} ${s}`).join(", ");
  const checks = Object.entries(value.checks || {}).map(([check, s]) => `${check} ${s}`).join(", ");
  const dnsClass = value.dns === "running" ? "good" : "bad";
  row.replaceChildren(
    el("th", {}, name), cell(node.state, node.state === "up" ? "" : "bad"),
    cell(value.dns || "—", dnsClass), cell(value.qps === null || value.qps === undefined ? "—" : String(value.qps)),
    cell(bgp || "—", bgp.includes("Established") ? "" : "bad"), cell(bfd || "—"),
    cell(value.drain || "—", value.drain && value.drain !== "none" ? "warn" : ""), cell(checks || "—"));
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
  for (const [action, label] of actions) {
    const button = el("button", { type: "button", "data-action": action,
                                  "data-target": selection.name }, label);
    button.addEventListener("click", () => act(action, selection.name));
    buttons.append(button);
  }
}

async function act(action, target) {
  const message = $("#message");
  message.textContent = `${action} ${target}: …`;
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
    message.textContent = `${action} ${target}: the server did not answer (${error})`;
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

function drawTimeline() {
  const canvas = $("#timeline");
  if (!state.graph) { requestAnimationFrame(drawTimeline); return; }
  const lanes = state.lanes.length;
  const laneHeight = lanes > 24 ? 9 : lanes > 8 ? 16 : 24, top = 18, left = 110;
  const cssWidth = canvas.clientWidth, cssHeight = top + lanes * laneHeight + 22;
  const ratio = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(cssWidth * ratio) || canvas.height !== Math.round(cssHeight * ratio)) {
    canvas.width = Math.round(cssWidth * ratio);
    canvas.height = Math.round(cssHeight * ratio);
    canvas.style.height = cssHeight + "px";
  }
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, cssWidth, cssHeight);
  const now = serverNow(), width = cssWidth - left - 10;
  const x = (t) => left + width * (1 - (now - t) / WINDOW);
  g.font = "11px system-ui, sans-serif";
  g.fillStyle = "#555";
  g.textBaseline = "middle";
  state.lanes.forEach((lane, i) => {
    g.fillText(`${lane.client} ${lane.family}`, 4, top + i * laneHeight + laneHeight / 2);
  });
  g.strokeStyle = "#eee";
  g.textAlign = "center";
  for (let ago = 0; ago <= WINDOW; ago += 10) {
    const t = now - ago;
    g.beginPath(); g.moveTo(x(t), top); g.lineTo(x(t), top + lanes * laneHeight); g.stroke();
    g.fillText(ago ? `−${ago} s` : "now", Math.min(x(t), left + width - 12), top + lanes * laneHeight + 10);
  }
  for (const [lane, sent, server] of state.samples) {
    if (sent < now - WINDOW) continue;
    g.fillStyle = colourOf(server);
    g.fillRect(x(sent) - 1, top + lane * laneHeight + 1, server === null ? 3 : 2, laneHeight - 2);
  }
  g.textAlign = "left";
  for (const action of state.actions.values()) {
    if (action.t < now - WINDOW) continue;
    g.strokeStyle = action.state === "failed" ? LOST : "#000";
    g.beginPath(); g.moveTo(x(action.t), 4); g.lineTo(x(action.t), top + lanes * laneHeight); g.stroke();
    g.fillStyle = "#000";
    g.fillText(action.text, x(action.t) + 3, 8);
  }
  setTimeout(() => requestAnimationFrame(drawTimeline), 100);
}

connect();
requestAnimationFrame(drawTimeline);
setInterval(() => { if (state.actions.size) drawLog(); }, 1000);
