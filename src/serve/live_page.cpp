#include "live_page.h"

namespace rtml::serve {

std::string_view live_page_html() {
  // Polls /v1/overview (every second; ?every=MS to change it), keeps up to 10 minutes of
  // each model's rolling metric and draws it as an SVG line. Element ids and data-
  // attributes are what the browser test reads.
  static constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rtml serve</title>
<style>
  :root { --ink: #1d2330; --muted: #667085; --line: #d8dde6; --bg: #f6f7f9; --card: #fff;
          --accent: #2563eb; --bad: #c2410c; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
         color: var(--ink); background: var(--bg); }
  header { display: flex; align-items: baseline; gap: 16px; padding: 14px 24px;
           background: var(--card); border-bottom: 1px solid var(--line); }
  header h1 { font-size: 18px; margin: 0; }
  header .status { color: var(--muted); }
  header .status.down { color: var(--bad); font-weight: 600; }
  main { padding: 18px 24px; display: grid; gap: 16px;
         grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
            padding: 14px 16px; }
  section h2 { font-size: 15px; margin: 0 0 2px; }
  .expr { color: var(--muted); font-family: ui-monospace, monospace; font-size: 12px;
          white-space: nowrap; overflow: hidden; text-overflow: ellipsis; margin-bottom: 10px; }
  dl { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px 12px; margin: 0 0 10px; }
  dt { color: var(--muted); font-size: 12px; }
  dd { margin: 0; font-size: 18px; font-variant-numeric: tabular-nums; }
  dd.bad { color: var(--bad); }
  svg { width: 100%; height: 140px; display: block; }
  svg .grid { stroke: var(--line); stroke-width: 1; }
  svg .axis { fill: var(--muted); font-size: 10px; }
  svg polyline { fill: none; stroke: var(--accent); stroke-width: 2; }
  .empty { color: var(--muted); padding: 24px; }
</style>
</head>
<body>
<header>
  <h1>rtml serve</h1>
  <span id="status" class="status">connecting…</span>
</header>
<main id="cards">
  <section id="store">
    <h2>Feature store</h2>
    <div class="expr">entities read by predictions, aggregates kept by POST /v1/events</div>
    <dl>
      <div><dt>entities</dt><dd id="store-entities">–</dd></div>
      <div><dt>memory</dt><dd id="store-memory">–</dd></div>
      <div><dt>hit rate</dt><dd id="store-hit-rate">–</dd></div>
      <div><dt>lookups</dt><dd id="store-lookups">–</dd></div>
      <div><dt>events applied</dt><dd id="events-applied">–</dd></div>
      <div><dt>events refused</dt><dd id="events-refused">–</dd></div>
    </dl>
  </section>
</main>
<script>
"use strict";
const params = new URLSearchParams(location.search);
const every = Math.max(100, Number(params.get("every")) || 1000);
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const keepSeconds = 600;
const models = new Map();  // name -> {card, history: [[t, metric]], last: {t, events}}

function fmt(n) {
  if (n === undefined || n === null || Number.isNaN(n)) return "–";
  if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(2) + " M";
  if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1) + " k";
  return Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 3 : 1);
}
function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; ++i; }
  return n.toFixed(i ? 1 : 0) + " " + units[i];
}
const svgTags = new Set(["svg", "polyline", "line", "text"]);
function el(tag, attrs, text) {
  const e = svgTags.has(tag) ? document.createElementNS("http://www.w3.org/2000/svg", tag)
                             : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function stat(dl, key, label) {
  const div = el("div");
  div.append(el("dt", {}, label), el("dd", {"data-stat": key}, "–"));
  dl.append(div);
}
function card(name) {
  const s = el("section", {"data-model": name});
  s.append(el("h2", {}, name), el("div", {class: "expr"}));
  const dl = el("dl");
  stat(dl, "rate", "events/s");
  stat(dl, "predicted", "predicted");
  stat(dl, "learned", "learned");
  stat(dl, "pending", "pending labels");
  stat(dl, "refused", "dead letters");
  stat(dl, "metric", "rolling metric");
  const svg = el("svg", {viewBox: "0 0 400 140", preserveAspectRatio: "none"});
  s.append(dl, svg);
  document.getElementById("cards").append(s);
  return {card: s, svg, history: [], last: null};
}
function draw(m, label) {
  const svg = m.svg, h = m.history;
  svg.replaceChildren();
  const W = 400, H = 140, L = 34, B = 16;
  let lo = Infinity, hi = -Infinity;
  for (const [, v] of h) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!h.length) { lo = 0; hi = 1; }
  if (hi - lo < 1e-9) { lo -= 0.05; hi += 0.05; }
  // The time axis spans what has been seen, from 30 s up to the 10 minutes kept.
  const t1 = h.length ? h[h.length - 1][0] : 0;
  const span = Math.min(keepSeconds, Math.max(30, h.length ? t1 - h[0][0] : 0));
  const t0 = t1 - span;
  const x = t => L + (W - L - 4) * (t - t0) / span;
  const y = v => 4 + (H - B - 8) * (1 - (v - lo) / (hi - lo));
  for (const v of [lo, (lo + hi) / 2, hi]) {
    svg.append(el("line", {class: "grid", x1: L, x2: W, y1: y(v), y2: y(v)}));
    svg.append(el("text", {class: "axis", x: 2, y: y(v) + 3}, v.toFixed(3)));
  }
  svg.append(el("text", {class: "axis", x: L, y: H - 3},
                span >= 120 ? `−${Math.round(span / 60)} min` : `−${Math.round(span)} s`));
  svg.append(el("text", {class: "axis", x: W - 2, y: H - 3, "text-anchor": "end"}, label));
  svg.append(el("polyline", {points: h.map(([t, v]) => x(t).toFixed(1) + "," + y(v).toFixed(1))
                                       .join(" ")}));
}
function set(card, key, value, bad) {
  const dd = card.querySelector(`[data-stat="${key}"]`);
  dd.textContent = value;
  dd.classList.toggle("bad", !!bad);
}
async function poll() {
  const status = document.getElementById("status");
  try {
    const r = await fetch("/v1/overview", {headers: token ? {Authorization: "Bearer " + token} : {}});
    if (!r.ok) throw new Error("HTTP " + r.status);
    const o = await r.json();
    status.textContent = `up ${Math.round(o.uptime_seconds)} s · ${o.models.length} model(s) · ` +
                         new Date().toLocaleTimeString();
    status.classList.remove("down");
    const s = o.store;
    document.getElementById("store-entities").textContent = fmt(s.entities);
    document.getElementById("store-memory").textContent = bytes(s.memory_bytes);
    document.getElementById("store-lookups").textContent = fmt(s.lookups);
    document.getElementById("store-hit-rate").textContent =
        s.lookups ? (100 * s.hits / s.lookups).toFixed(1) + " %" : "–";
    document.getElementById("events-applied").textContent = fmt(o.events.applied);
    document.getElementById("events-refused").textContent = fmt(o.events.refused);
    const seen = new Set();
    for (const m of o.models) {
      seen.add(m.name);
      let v = models.get(m.name);
      if (!v) { v = card(m.name); models.set(m.name, v); }
      v.card.querySelector(".expr").textContent = m.model;
      const events = m.predicted + m.learned;
      if (v.last && o.time > v.last.t) {
        set(v.card, "rate", fmt(Math.round((events - v.last.events) / (o.time - v.last.t))));
      }
      v.last = {t: o.time, events};
      set(v.card, "predicted", fmt(m.predicted));
      set(v.card, "learned", fmt(m.learned));
      set(v.card, "pending", fmt(m.pending));
      set(v.card, "refused", fmt(m.refused), m.refused > 0);
      const name = m.metrics.accuracy !== undefined ? "accuracy" : "mae";
      const rolling = m.metrics["rolling_" + name];
      set(v.card, "metric", rolling === undefined ? "–" : `${name} ${rolling.toFixed(4)}`);
      if (rolling !== undefined) {
        v.history.push([o.time, rolling]);
        while (v.history.length && v.history[0][0] < o.time - keepSeconds) v.history.shift();
      }
      draw(v, "rolling " + name);
    }
    for (const [name, v] of models) {
      if (!seen.has(name)) { v.card.remove(); models.delete(name); }
    }
  } catch (e) {
    status.textContent = "not reachable: " + e.message;
    status.classList.add("down");
  }
  setTimeout(poll, every);
}
poll();
</script>
</body>
</html>
)HTML";
  return kPage;
}

}  // namespace rtml::serve
