// The console's only script and stylesheet, embedded as strings so the single-file binaries carry them
// and the CSP can say script-src 'self' / style-src 'self'. Every page works without the script: it only
// shows times in the operator's zone, refreshes live counters, and asks before bulk actions.
import { Hono } from "hono";

export const SCRIPT_PATH = "/assets/console.js";
export const STYLE_PATH = "/assets/console.css";

const SCRIPT = `"use strict";
(function () {
  var pad = function (n) { return String(n).padStart(2, "0"); };
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime())) return;
      var zone = "";
      try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) {}
      el.textContent = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
        pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + (zone ? " " + zone : "");
    });
  }
  function live(el) {
    var url = el.getAttribute("data-live");
    var every = Number(el.getAttribute("data-every") || 5000);
    function tick() {
      if (document.hidden) return setTimeout(tick, every);
      fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(function (data) {
          el.querySelectorAll("[data-count]").forEach(function (c) {
            var v = data[c.getAttribute("data-count")];
            if (v !== undefined) c.textContent = String(v);
          });
          el.setAttribute("data-updated", new Date().toISOString());
          setTimeout(tick, every);
        })
        .catch(function () { el.setAttribute("data-stale", "true"); });
    }
    setTimeout(tick, every);
  }
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) ev.preventDefault();
  });
  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    document.querySelectorAll("[data-live]").forEach(live);
  });
})();
`;

const STYLE = `
:root { --fg: #1d232a; --muted: #667085; --line: #d0d5dd; --bg: #fff; --panel: #f6f7f9; --accent: #0b5cad;
  --ok: #137333; --ok-bg: #e6f4ea; --bad: #b3261e; --bad-bg: #fce8e6; --warn: #8a5a00; --warn-bg: #fef3d6; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; align-items: center; gap: 1.5rem; padding: .5rem 1rem; background: #14213d; color: #fff; }
header.top a { color: #dfe7f5; text-decoration: none; }
header.top a[aria-current="page"] { color: #fff; font-weight: 600; border-bottom: 2px solid #fca311; }
header.top .tool { font-weight: 700; }
header.top nav { display: flex; gap: 1rem; flex: 1; }
header.top form { margin: 0; }
header.top .who { color: #c9d3e6; }
main { padding: 1rem; max-width: 1200px; }
h1 { font-size: 1.3rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.05rem; margin: 1.2rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
table.fields th { width: 11rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
.muted { color: var(--muted); }
time { white-space: nowrap; }
tr.attempts-row td { border-bottom: 1px solid var(--line); padding-top: 0; }
tr:has(+ tr.attempts-row) > td { border-bottom: none; }
.wrap { overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: 12px; font-weight: 600; }
.badge-ok { color: var(--ok); background: var(--ok-bg); }
.badge-bad { color: var(--bad); background: var(--bad-bg); }
.badge-warn { color: var(--warn); background: var(--warn-bg); }
.badge-neutral { color: var(--muted); background: var(--panel); }
.sparkline { vertical-align: middle; }
.spark-ok { fill: #34a853; }
.spark-bad { fill: #d93025; }
.notice { padding: .5rem .75rem; border-radius: 4px; margin: 0 0 1rem; background: var(--ok-bg); color: var(--ok); }
.problem { padding: .5rem .75rem; border-radius: 4px; margin: 0 0 1rem; background: var(--bad-bg); color: var(--bad); }
.counters { display: flex; gap: 1rem; flex-wrap: wrap; margin: 0 0 1rem; }
.counter { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .5rem 1rem; min-width: 8rem; }
.counter b { display: block; font-size: 1.4rem; font-variant-numeric: tabular-nums; }
form.inline { display: inline; margin: 0; }
form.search { display: flex; gap: .5rem; align-items: end; flex-wrap: wrap; margin: 0 0 1rem; }
label { display: flex; flex-direction: column; gap: .15rem; font-size: 12px; color: var(--muted); }
input, select, button { font: inherit; padding: .3rem .5rem; border: 1px solid var(--line); border-radius: 4px; }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
header.top button { background: transparent; border-color: #6c7a96; color: #dfe7f5; padding: .1rem .5rem; }
.pager { display: flex; justify-content: space-between; margin: .5rem 0; }
.login { max-width: 22rem; margin: 4rem auto; padding: 1.5rem; border: 1px solid var(--line); border-radius: 8px; }
.login form { display: flex; flex-direction: column; gap: .75rem; }
details summary { cursor: pointer; color: var(--accent); }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--panel); padding: .5rem; border-radius: 4px; margin: .25rem 0; }
`;

export function assetRoutes(): Hono {
  const serve = (body: string, type: string) => () => new Response(body, { headers: { "content-type": type, "cache-control": "no-cache" } });
  return new Hono().get(SCRIPT_PATH, serve(SCRIPT, "text/javascript; charset=utf-8")).get(STYLE_PATH, serve(STYLE, "text/css; charset=utf-8"));
}
