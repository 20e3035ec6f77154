import type { ListFilter, ProcessPage } from "../client/index.ts";
import { ProcessStatus, type ProcessRecord } from "../model/index.ts";
import { targetOf } from "../model/target.ts";
import { COUNT_CAP } from "./console-backend.ts";
import { ago, html, layout, query, time, type SafeHtml } from "./html.ts";

/** The list page's filters, as they appear in its query string. */
export interface ListQuery {
  status?: string;
  session?: string;
  target?: string;
  q?: string;
  cursor?: string;
}

export const statusBadge = (status: string, id?: string): SafeHtml => html`<span class="badge s-${status}" ${id ? html`id="${id}"` : null}>${status}</span>`;

export function describeTarget(record: ProcessRecord): SafeHtml {
  const kind = record.input.type === "tool_call" ? "tool" : record.input.type;
  const target = targetOf(record.input);
  return target === record.input.type ? html`<span class="muted">${kind}</span>` : html`${target} <span class="muted small">${kind}</span>`;
}

/** A table of processes (list page, session page). */
export function processTable(items: ProcessRecord[], emptyText: string): SafeHtml {
  if (items.length === 0) return html`<div class="card empty">${emptyText}</div>`;
  return html`<table class="processes">
    <thead>
      <tr>
        <th>Process</th>
        <th>Status</th>
        <th>Tool / program</th>
        <th>Session</th>
        <th>Attempt</th>
        <th>Created</th>
        <th>Updated</th>
      </tr>
    </thead>
    <tbody>
      ${items.map(
        (r) =>
          html`<tr data-id="${r.id}">
            <td class="id"><a href="/processes/${encodeURIComponent(r.id)}">${r.id}</a></td>
            <td>${statusBadge(r.status)}</td>
            <td>${describeTarget(r)}</td>
            <td><a href="/sessions/${encodeURIComponent(r.provenance.ownerScope.sessionId)}">${r.provenance.ownerScope.sessionId}</a></td>
            <td>${r.attempt}</td>
            <td class="small">${time(r.createdAtMs)}</td>
            <td class="small muted">${ago(r.updatedAtMs)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** `/`: processes newest first, filters, counts by status, paging. */
export function processesPage(q: ListQuery, page: ProcessPage, counts: Map<string, number>): string {
  const keep = { session: q.session, target: q.target, q: q.q };
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const countLink = (status: string | undefined, label: string, n: number) =>
    html`<a href="/${query({ ...keep, status })}" class="${q.status === status ? "on" : ""}" data-status="${status ?? "all"}"
      >${label}<b>${n >= COUNT_CAP ? `${COUNT_CAP}+` : n}</b></a
    >`;
  const body = html`<h1>Processes</h1>
    <div class="counts">${countLink(undefined, "all", total)}${Object.values(ProcessStatus).map((s) => countLink(s, s, counts.get(s) ?? 0))}</div>
    <form class="filters" method="get" action="/">
      <label
        >Status<select name="status">
          <option value="">any</option>
          ${Object.values(ProcessStatus).map((s) => html`<option value="${s}" ${q.status === s ? html`selected` : null}>${s}</option>`)}
        </select></label
      >
      <label>Session<input name="session" value="${q.session ?? ""}" placeholder="session id" /></label>
      <label>Tool or program<input name="target" value="${q.target ?? ""}" placeholder="e.g. std.echo" /></label>
      <label>Id contains<input name="q" value="${q.q ?? ""}" placeholder="text" /></label>
      <button type="submit">Filter</button> <a href="/">clear</a>
    </form>
    ${processTable(page.items, "No processes match.")}
    <div class="pager">
      ${q.cursor ? html`<a href="/${query({ ...keep, status: q.status })}">« newest</a>` : null}
      ${page.nextCursor ? html`<a rel="next" href="/${query({ ...keep, status: q.status, cursor: page.nextCursor })}">older »</a>` : null}
    </div>`;
  return layout({ title: "Processes", body });
}

/** The registry filter a list query asks for (empty fields dropped). */
export function filterOf(q: ListQuery): ListFilter {
  const filter: ListFilter = { limit: 50 };
  if (q.status) filter.status = q.status as ListFilter["status"];
  if (q.session) filter.sessionId = q.session;
  if (q.target) filter.target = q.target;
  if (q.q) filter.idContains = q.q;
  if (q.cursor) filter.cursor = q.cursor;
  return filter;
}
