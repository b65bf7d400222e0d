/**
 * The HTML shell of the timeline webview. vscode-free: used by the extension panel, the
 * custom editor and the standalone viewer (`shutdown-trace view`).
 *
 * The page has a strict CSP: nothing inline runs or styles without the nonce, nothing remote
 * loads. The only script is the bundle (`media/webview.js`, nonce'd). Initial data (optional)
 * travels as a nonce'd, non-executable `<script type="application/json">` data block whose
 * text is escaped so that no string inside it can close the element.
 *
 * The standalone viewer contract (what the webview expects from a plain HTTP server) is
 * documented at the top of `webview/src/main.ts`.
 */

export interface WebviewHtmlOptions {
  /** URI of media/webview.js as the page may load it (webview.asWebviewUri(...) in VS Code). */
  scriptUri: string;
  /** URI of media/webview.css. */
  styleUri: string;
  /** The webview's CSP source (webview.cspSource), or e.g. `'self'` / `http://127.0.0.1:PORT` standalone. */
  cspSource: string;
  /** From makeNonce(); a new one per page. */
  nonce: string;
  title?: string;
  /**
   * Data the page starts with, no host round trip needed: a HostToWebview message, an array of
   * them (applied in order), or a bare Trace (shown as a saved, non-live trace).
   */
  initial?: unknown;
  /**
   * Additive, standalone viewer only. When set, the CSP gains `connect-src <connectSrc>` (e.g.
   * `'self'`) and the page reads `traceUrl` / `eventsUrl` / `postUrl` (see main.ts).
   */
  standalone?: {
    connectSrc?: string;
    /** GET → a Trace JSON, shown when `initial` carries no trace. */
    traceUrl?: string;
    /** EventSource URL; each `data:` is one HostToWebview JSON message (live appends). */
    eventsUrl?: string;
    /** POST target for WebviewToHost JSON messages (open-frame, command, select). */
    postUrl?: string;
    /** Show the run commands (send signal, kill, stop, export…) in the toolbar. */
    commands?: boolean;
  };
}

/** The Content-Security-Policy of the page; servers that also send it as a header use this. */
export function webviewCsp(cspSource: string, nonce: string, connectSrc?: string): string {
  let csp = `default-src 'none'; img-src ${cspSource} data:; style-src ${cspSource}; ` + `script-src 'nonce-${nonce}'; font-src ${cspSource};`;
  if (connectSrc) csp += ` connect-src ${connectSrc};`;
  return csp;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON that is safe inside a <script> data block: no `<`, `>`, `&`, U+2028/9 survive literally. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value ?? null).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

export function renderWebviewHtml(opts: WebviewHtmlOptions): string {
  if (!/^[A-Za-z0-9+/=_-]{8,}$/.test(opts.nonce)) throw new Error('renderWebviewHtml: the nonce must be base64/base64url, at least 8 characters');
  const sa = opts.standalone;
  const csp = webviewCsp(opts.cspSource, opts.nonce, sa ? (sa.connectSrc ?? "'self'") : undefined);
  const title = escapeHtml(opts.title ?? 'Shutdown Trace');
  const bodyAttrs: string[] = [];
  if (sa?.traceUrl) bodyAttrs.push(`data-trace-url="${escapeHtml(sa.traceUrl)}"`);
  if (sa?.eventsUrl) bodyAttrs.push(`data-events-url="${escapeHtml(sa.eventsUrl)}"`);
  if (sa?.postUrl) bodyAttrs.push(`data-post-url="${escapeHtml(sa.postUrl)}"`);
  if (sa?.commands) bodyAttrs.push('data-commands="1"');
  if (sa) bodyAttrs.push('data-standalone="1"');
  const initial = opts.initial === undefined ? '' : `\n<script type="application/json" id="shutdown-trace-initial" nonce="${opts.nonce}">${jsonForScript(opts.initial)}</script>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="${escapeHtml(opts.styleUri)}">
</head>
<body${bodyAttrs.length ? ' ' + bodyAttrs.join(' ') : ''}>
<div id="app" class="st-app"><div class="st-loading" role="status">Loading Shutdown Trace…</div></div>${initial}
<script nonce="${opts.nonce}" src="${escapeHtml(opts.scriptUri)}"></script>
</body>
</html>
`;
}

/** 32 random characters (base64url) for the CSP nonce. */
export function makeNonce(): string {
  const bytes = new Uint8Array(24);
  const c = (globalThis as { crypto?: { getRandomValues(a: Uint8Array): Uint8Array } }).crypto;
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(bytes);
  else {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeCrypto = require('crypto') as { randomFillSync(a: Uint8Array): Uint8Array };
    nodeCrypto.randomFillSync(bytes);
  }
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += alphabet[(n >> 18) & 63] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63];
  }
  return out;
}
