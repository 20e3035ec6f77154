import type { LashProcessClient } from "../client/index.ts";
import type { ProcessAwaitOutput } from "../model/index.ts";
import { html, layout } from "./html.ts";

export type ActionKind = "cancel" | "signal" | "complete";
export const ACTION_KINDS: readonly ActionKind[] = ["cancel", "signal", "complete"];

/** One checked action: what will be sent, and how to say it. */
export type Action =
  { kind: "cancel"; reason?: string } | { kind: "signal"; name: string; payload?: unknown } | { kind: "complete"; output: ProcessAwaitOutput };

/** A form field the console refuses, named like the form names it. */
export class FormError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

function parseJson(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FormError(field, `not valid JSON (${(err as Error).message})`);
  }
}

/** Reads and checks an action's form fields. */
export function parseAction(kind: ActionKind, form: URLSearchParams): Action {
  const field = (name: string) => (form.get(name) ?? "").trim();
  switch (kind) {
    case "cancel": {
      const reason = field("reason");
      if (reason.length > 2000) throw new FormError("reason", "at most 2000 characters");
      return reason ? { kind, reason } : { kind };
    }
    case "signal": {
      const name = field("name");
      if (!/^[A-Za-z0-9._:-]{1,200}$/.test(name)) throw new FormError("name", "1..200 letters, digits and . _ : -");
      const payload = field("payload");
      return payload ? { kind, name, payload: parseJson(payload, "payload") } : { kind, name };
    }
    case "complete": {
      const type = field("type");
      const value = field("value");
      if (type === "success") return { kind, output: { type: "success", value: (value ? parseJson(value, "value") : null) as never } };
      if (type !== "failure") throw new FormError("type", "success or failure");
      const code = field("code");
      if (!/^[a-z0-9_.-]{1,100}$/.test(code)) throw new FormError("code", "a failure code: 1..100 of a-z 0-9 _ . -");
      return { kind, output: { type: "failure", class: "external", code, message: value || code } };
    }
  }
}

/** Sends the action through the typed client; the answer is shown as it came. */
export async function runAction(client: LashProcessClient, id: string, action: Action): Promise<unknown> {
  const handle = client.handle(id);
  switch (action.kind) {
    case "cancel":
      return handle.cancel(action.reason);
    case "signal":
      return handle.signal(action.name, action.payload);
    case "complete":
      return handle.complete(action.output);
  }
}

function describe(action: Action, id: string): string {
  switch (action.kind) {
    case "cancel":
      return `Cancel process ${id}${action.reason ? ` with reason "${action.reason}"` : ""}?`;
    case "signal":
      return `Send signal "${action.name}" to process ${id}?`;
    case "complete":
      return `Complete external process ${id} with outcome ${action.output.type}?`;
  }
}

/** Step 1: say exactly what will be sent, and ask. The same form again with `confirm=yes` acts. */
export function confirmPage(id: string, kind: ActionKind, form: URLSearchParams, action: Action, csrf: string): string {
  const fields = [...form.entries()].filter(([k]) => k !== "confirm" && k !== "csrf");
  const { kind: _k, ...sent } = action;
  const body = html`<h1>Confirm</h1>
    <div class="card" id="confirm">
      <p><strong>${describe(action, id)}</strong></p>
      <pre>${JSON.stringify(sent, null, 2)}</pre>
      <form method="post" action="/processes/${encodeURIComponent(id)}/actions/${kind}" class="pager">
        ${fields.map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}" />`)}
        <input type="hidden" name="csrf" value="${csrf}" /><input type="hidden" name="confirm" value="yes" />
        <button type="submit" class="${kind === "cancel" ? "danger" : ""}" id="confirm-button">Yes, ${kind}</button>
        <a href="/processes/${encodeURIComponent(id)}">No, go back</a>
      </form>
    </div>`;
  return layout({ title: `Confirm ${kind}`, body });
}

/** Step 2: the answer (or the error) as Restate gave it. */
export function answerPage(id: string, kind: ActionKind, answer: { ok: true; value: unknown } | { ok: false; error: string }): string {
  const body = html`<h1>${kind}: ${answer.ok ? "done" : "refused"}</h1>
    <div class="card answer ${answer.ok ? "" : "error"}" id="answer">
      <p>${answer.ok ? "Restate answered:" : "The request failed:"}</p>
      <pre>${answer.ok ? JSON.stringify(answer.value, null, 2) : answer.error}</pre>
      <p><a href="/processes/${encodeURIComponent(id)}" id="back">Back to ${id}</a></p>
    </div>`;
  return layout({ title: `${kind} ${id}`, body });
}
