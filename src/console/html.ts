/** HTML that is already safe (built by `html`), never escaped again. */
export class SafeHtml {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;" };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

type Part = SafeHtml | string | number | boolean | null | undefined | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return "";
  if (part instanceof SafeHtml) return part.text;
  if (Array.isArray(part)) return part.map(render).join("");
  return escapeHtml(String(part));
}

/**
 * The one way console pages build HTML: every interpolated value is escaped
 * unless it is itself `html` output. `null`, `undefined` and `false` render nothing.
 */
export function html(strings: TemplateStringsArray, ...values: Part[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** A query string from the defined entries (values URL-encoded). */
export function query(params: Record<string, string | number | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== "");
  return entries.length === 0 ? "" : `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
}

export interface LayoutOptions {
  title: string;
  /** The page's main content. */
  body: SafeHtml;
  /** Adds the console's script (live updates). */
  script?: boolean;
}

export function layout(opts: LayoutOptions): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${opts.title} · lash console</title>
        <link rel="stylesheet" href="/assets/console.css" />
        ${opts.script ? html`<script src="/assets/console.js" defer></script>` : null}
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/">lash<span>processes</span></a>
          <nav><a href="/">Processes</a></nav>
        </header>
        <main>${opts.body}</main>
      </body>
    </html> `.text;
}

/** `2026-11-30 23:31:05` (UTC) for a millisecond timestamp. */
export function time(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

/** `3 s`, `4 min`, `2 h`, `5 d` ago. */
export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/** Strict CSP: no inline script or style, nothing from elsewhere, no framing. */
export const CSP =
  "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export function securityHeaders(): Record<string, string> {
  return { "content-security-policy": CSP, "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY" };
}
