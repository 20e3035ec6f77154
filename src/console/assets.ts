/** The console's stylesheet and script, served from `/assets/` (the CSP allows no inline code). */

export const CONSOLE_CSS = `
:root { --fg: #1d2330; --muted: #687084; --line: #e2e5ec; --bg: #f6f7f9; --card: #fff; --accent: #3451b2;
  --ok: #1a7f37; --bad: #c62828; --warn: #9a6700; --live: #0969da; --off: #6e7781; font-size: 15px; }
* { box-sizing: border-box; }
body { margin: 0; font: 1rem/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
header.top { display: flex; align-items: center; gap: 2rem; padding: .7rem 1.5rem; background: #161b26; color: #fff; }
header.top a { color: #dfe3ee; } .brand { font-weight: 700; font-size: 1.1rem; color: #fff !important; }
.brand span { font-weight: 400; color: #9aa4bd; margin-left: .35rem; }
main { max-width: 1180px; margin: 1.5rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.45rem; margin: 0 0 .8rem; display: flex; align-items: center; gap: .7rem; flex-wrap: wrap; word-break: break-all; }
h2 { font-size: 1.05rem; margin: 1.6rem 0 .6rem; color: #2c3344; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.2rem; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
th, td { text-align: left; padding: .5rem .75rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); background: #fafbfc; }
tr:last-child td { border-bottom: 0; }
td.id { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9rem; word-break: break-all; }
.muted { color: var(--muted); } .small { font-size: .85rem; }
.badge { display: inline-block; padding: .08rem .55rem; border-radius: 999px; font-size: .8rem; font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.s-completed, .o-success { color: var(--ok); } .s-failed, .o-failure { color: var(--bad); }
.s-cancelled, .s-abandoned, .o-cancelled, .o-abandoned { color: var(--off); }
.s-running, .s-pending, .s-queued { color: var(--live); } .s-waiting { color: var(--warn); }
.counts { display: flex; gap: .5rem; flex-wrap: wrap; margin: 0 0 1rem; }
.counts a { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .35rem .7rem; color: var(--fg); }
.counts a.on { border-color: var(--accent); box-shadow: inset 0 0 0 1px var(--accent); }
.counts b { margin-left: .35rem; }
form.filters { display: flex; gap: .6rem; flex-wrap: wrap; align-items: end; margin-bottom: 1rem; }
label { display: flex; flex-direction: column; font-size: .8rem; color: var(--muted); gap: .2rem; }
input, select, textarea { font: inherit; padding: .35rem .5rem; border: 1px solid #c9ced8; border-radius: 6px; background: #fff; color: var(--fg); }
textarea { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .85rem; min-height: 4.5rem; width: 100%; }
button { font: inherit; padding: .38rem .9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); } button.danger { background: var(--bad); border-color: var(--bad); }
.pager { display: flex; gap: 1rem; margin: .8rem 0; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1.2rem; margin: 0; }
dl.fields dt { color: var(--muted); } dl.fields dd { margin: 0; word-break: break-all; }
pre { margin: 0; font: .82rem/1.4 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre-wrap; word-break: break-word; background: #f3f4f7; border-radius: 6px; padding: .45rem .6rem; }
.grid { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1.2rem; }
@media (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
.timeline td.seq { width: 3.5rem; color: var(--muted); } .timeline td.when { width: 9.5rem; font-size: .85rem; color: var(--muted); }
.timeline td.type { width: 13rem; font-weight: 600; font-size: .9rem; } .timeline tr.fresh { animation: fresh 2.5s ease-out; }
@keyframes fresh { from { background: #fff3bf; } to { background: transparent; } }
.live { font-size: .8rem; color: var(--muted); } .live.on::before { content: "● "; color: var(--ok); }
ul.tree { list-style: none; margin: 0; padding-left: 1.1rem; border-left: 2px solid var(--line); }
ul.tree.root { padding-left: 0; border: 0; } ul.tree li { margin: .25rem 0; }
.actions form { margin: 0 0 1rem; } .actions h3 { font-size: .95rem; margin: 0 0 .4rem; }
.actions .row { display: flex; gap: .5rem; align-items: end; flex-wrap: wrap; } .actions .row label { flex: 1; }
.answer { border-left: 4px solid var(--accent); } .answer.error { border-left-color: var(--bad); }
.empty { padding: 1.2rem; text-align: center; color: var(--muted); }
`;

/**
 * Live timeline: subscribes to `/processes/<id>/stream` (server-sent events fed by
 * the registry's long poll) and appends each event as it arrives; stops after the
 * terminal event. Text only ever goes in through textContent.
 */
export const CONSOLE_JS = `
"use strict";
(function () {
  const table = document.getElementById("timeline");
  if (!table) return;
  const body = table.querySelector("tbody");
  const live = document.getElementById("live");
  const status = document.getElementById("status");
  const id = table.dataset.processId;
  let after = Number(table.dataset.after || "0");
  const terminal = { "process.completed": "completed", "process.failed": "failed", "process.cancelled": "cancelled", "process.abandoned": "abandoned" };
  if (table.dataset.terminal === "true") return;
  const cell = (cls, text, pre) => {
    const td = document.createElement("td");
    td.className = cls;
    if (pre) { const p = document.createElement("pre"); p.textContent = text; td.appendChild(p); } else td.textContent = text;
    return td;
  };
  const source = new EventSource("/processes/" + encodeURIComponent(id) + "/stream?after=" + after);
  source.addEventListener("open", () => { if (live) { live.classList.add("on"); live.textContent = "live"; } });
  source.addEventListener("lash", (msg) => {
    const e = JSON.parse(msg.data);
    if (e.sequence <= after) return;
    after = e.sequence;
    const empty = body.querySelector("tr.none");
    if (empty) empty.remove();
    const tr = document.createElement("tr");
    tr.className = "fresh";
    tr.dataset.sequence = String(e.sequence);
    tr.append(cell("seq", "#" + e.sequence), cell("when", new Date(e.occurredAtMs).toISOString().replace("T", " ").slice(0, 19)),
      cell("type", e.type), cell("payload", JSON.stringify(e.payload, null, 2), true));
    body.appendChild(tr);
    if (status && terminal[e.type]) { status.textContent = terminal[e.type]; status.className = "badge s-" + terminal[e.type]; }
    else if (status && e.type === "process.started") { status.textContent = "running"; status.className = "badge s-running"; }
  });
  source.addEventListener("end", () => {
    source.close();
    if (live) { live.classList.remove("on"); live.textContent = "finished: reload for the outcome"; }
  });
  source.addEventListener("error", () => { if (live) { live.classList.remove("on"); live.textContent = "reconnecting…"; } });
})();
`;
