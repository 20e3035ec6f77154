import { isTerminalStatus, type ProcessEvent, type ProcessRecord } from "../model/index.ts";
import type { ChildNode, RunInvocationRef } from "./console-backend.ts";
import { html, layout, time, type SafeHtml } from "./html.ts";
import { describeTarget, statusBadge } from "./list-page.ts";

export interface ProcessView {
  record: ProcessRecord;
  events: ProcessEvent[];
  children: ChildNode[];
  invocation: { ref: RunInvocationRef; url: string } | undefined;
  csrf: string;
}

const json = (value: unknown): string => JSON.stringify(value, null, 2);

function argsOf(r: ProcessRecord): unknown {
  switch (r.input.type) {
    case "tool_call":
      return r.input.call.args;
    case "program":
      return r.input.args;
    case "session_turn":
      return { session: r.input.session, turnInput: r.input.turnInput };
    case "external":
      return r.input.metadata;
  }
}

function tree(nodes: ChildNode[], root = true): SafeHtml {
  return html`<ul class="tree ${root ? "root" : ""}">
    ${nodes.map(
      (n) =>
        html`<li data-child="${n.record.id}">
          <a href="/processes/${encodeURIComponent(n.record.id)}">${n.record.id}</a> ${statusBadge(n.record.status)}
          <span class="small muted">${describeTarget(n.record)}</span>${n.children.length > 0 ? tree(n.children, false) : null}
        </li>`,
    )}
  </ul>`;
}

export function eventRow(e: ProcessEvent): SafeHtml {
  return html`<tr data-sequence="${e.sequence}">
    <td class="seq">#${e.sequence}</td>
    <td class="when">${time(e.occurredAtMs)}</td>
    <td class="type">${e.type}</td>
    <td class="payload"><pre>${json(e.payload)}</pre></td>
  </tr>`;
}

function actions(v: ProcessView): SafeHtml {
  const { record: r, csrf } = v;
  if (isTerminalStatus(r.status)) return html`<div class="card muted">The process is ${r.status}: no actions left.</div>`;
  const base = `/processes/${encodeURIComponent(r.id)}/actions`;
  const token = html`<input type="hidden" name="csrf" value="${csrf}" />`;
  return html`<div class="card actions">
    <form method="post" action="${base}/cancel" id="cancel-form">
      <h3>Cancel</h3>
      ${token}
      <div class="row">
        <label>Reason<input name="reason" placeholder="why (recorded in the outcome)" /></label><button class="danger" type="submit">Cancel…</button>
      </div>
    </form>
    <form method="post" action="${base}/signal" id="signal-form">
      <h3>Send a signal</h3>
      ${token}
      <div class="row">
        <label>Name<input name="name" required placeholder="e.g. approve" /></label>
      </div>
      <label>Payload (JSON)<textarea name="payload" placeholder='{"ok": true}'></textarea></label>
      <div class="row"><button type="submit">Send signal…</button></div>
    </form>
    ${
      r.input.type === "external"
        ? html`<form method="post" action="${base}/complete" id="complete-form">
            <h3>Complete (external process)</h3>
            ${token}
            <div class="row">
              <label
                >Outcome<select name="type">
                  <option value="success">success</option>
                  <option value="failure">failure</option>
                </select></label
              >
              <label>Failure code<input name="code" placeholder="for failures" /></label>
            </div>
            <label>Value (JSON, success) or message (failure)<textarea name="value" placeholder='{"done": true}'></textarea></label>
            <div class="row"><button type="submit">Complete…</button></div>
          </form>`
        : null
    }
  </div>`;
}

/** `/processes/<id>`: registration, status, outcome, live timeline, children, Restate link, actions. */
export function processPage(v: ProcessView): string {
  const r = v.record;
  const terminal = isTerminalStatus(r.status);
  const causedBy = r.provenance.causedBy;
  const last = v.events.at(-1)?.sequence ?? 0;
  const body = html`<h1><span class="id">${r.id}</span> ${statusBadge(r.status, "status")}</h1>
    <div class="grid">
      <section>
        <h2>Registration</h2>
        <div class="card">
          <dl class="fields">
            <dt>Runs</dt>
            <dd>${describeTarget(r)}</dd>
            <dt>Session</dt>
            <dd>
              <a href="/sessions/${encodeURIComponent(r.provenance.ownerScope.sessionId)}">${r.provenance.ownerScope.sessionId}</a
              >${r.provenance.ownerScope.agentFrameId ? html` <span class="muted small">frame ${r.provenance.ownerScope.agentFrameId}</span>` : null}
            </dd>
            <dt>Caused by</dt>
            <dd>
              ${causedBy === undefined ? html`<span class="muted">—</span>` : causedBy.kind === "process" ? html`process <a href="/processes/${encodeURIComponent(causedBy.id)}">${causedBy.id}</a>` : html`${causedBy.kind} ${causedBy.id}`}
            </dd>
            <dt>Attempt</dt>
            <dd>${r.attempt} of ${r.maxAttempts}</dd>
            <dt>Created</dt>
            <dd>${time(r.createdAtMs)} UTC</dd>
            <dt>Updated</dt>
            <dd>${time(r.updatedAtMs)} UTC</dd>
            <dt>Restate</dt>
            <dd>
              ${v.invocation ? html`<a id="restate-link" href="${v.invocation.url}" target="_blank" rel="noopener noreferrer">${v.invocation.ref.id}</a> <span class="muted small">${v.invocation.ref.status}</span>` : html`<span class="muted">no run invocation found</span>`}
            </dd>
            <dt>Event types</dt>
            <dd>${r.eventTypes.length === 0 ? html`<span class="muted">core only</span>` : r.eventTypes.map((t) => t.name).join(", ")}</dd>
          </dl>
          <h2>Arguments</h2>
          <pre>${json(argsOf(r))}</pre>
          ${
            r.outcome
              ? html`<h2>Outcome <span class="badge o-${r.outcome.type}">${r.outcome.type}</span></h2>
                  <pre id="outcome">${json(r.outcome)}</pre>`
              : null
          }
        </div>
        <h2>Events <span id="live" class="live">${terminal ? "" : "connecting…"}</span></h2>
        <table class="timeline" id="timeline" data-process-id="${r.id}" data-after="${last}" data-terminal="${terminal ? "true" : "false"}">
          <tbody>
            ${
              v.events.length === 0
                ? html`<tr class="none">
                    <td class="empty" colspan="4">No events yet.</td>
                  </tr>`
                : v.events.map(eventRow)
            }
          </tbody>
        </table>
      </section>
      <aside>
        <h2>Actions</h2>
        ${actions(v)}
        <h2>Children</h2>
        ${v.children.length === 0 ? html`<div class="card muted">No child processes.</div>` : html`<div class="card">${tree(v.children)}</div>`}
      </aside>
    </div>`;
  return layout({ title: r.id, body, script: true });
}
