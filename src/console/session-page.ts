import type { ProcessPage } from "../client/index.ts";
import { html, layout, query, type SafeHtml } from "./html.ts";
import { processTable } from "./list-page.ts";

/**
 * HOOK(turns): a session's conversation. Once the session store of session turns
 * exists (the registry's database, read through a lash service on the ingress), a
 * `conversation(sessionId)` reader goes here and its turns render above the
 * processes. Until then the page lists the session's processes only.
 */
export type ConversationReader = (sessionId: string) => Promise<SafeHtml | undefined>;

/** `/sessions/<id>`: a session's processes (newest first) and, when a reader is wired, its conversation. */
export function sessionPage(sessionId: string, page: ProcessPage, conversation: SafeHtml | undefined, cursor: string | undefined): string {
  const body = html`<h1>Session <span class="id">${sessionId}</span></h1>
    ${
      conversation
        ? html`<h2>Conversation</h2>
            <div class="card" id="conversation">${conversation}</div>`
        : null
    }
    <h2>Processes</h2>
    ${processTable(page.items, "This session has no processes.")}
    <div class="pager">
      ${cursor ? html`<a href="/sessions/${encodeURIComponent(sessionId)}">« newest</a>` : null}
      ${page.nextCursor ? html`<a rel="next" href="/sessions/${encodeURIComponent(sessionId)}${query({ cursor: page.nextCursor })}">older »</a>` : null}
    </div>`;
  return layout({ title: `Session ${sessionId}`, body });
}
