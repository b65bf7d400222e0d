/**
 * Shutdown Trace — the timeline webview (entry point; bundled to media/webview.js, iife es2020).
 *
 * HOST CONTRACT
 * =============
 * Messages are `HostToWebview` / `WebviewToHost` from src/core/protocol.ts. The page posts
 * `{type:'ready'}` first; a host sends nothing before that. Then: `trace` (whole trace, `live`
 * true while recording), any number of `append` (applied in order to the last `trace`),
 * `finished` (final trace + analysis), `error` (shown as a banner), `theme`.
 * The page posts `open-frame` (a stack frame was clicked), `command` (toolbar buttons, when
 * enabled) and `select` (an event was selected).
 * For very large traces a host may put the trace's JSON *text* in `trace.trace` or `finished.trace` (a string):
 * posting one string avoids the structured clone of a million-object graph (≈2 s for 1M events)
 * and the page parses it with parseTrace() (≈0.7 s). Or it posts `trace-columns` / `finished-columns`
 * (src/shared/trace-columns.ts; the VS Code panel does from 20,000 events): typed arrays the page
 * builds its model from in place, making an event object only when one is read. Everything else
 * is the typed shape.
 *
 * The page finds its host like this, first match wins:
 *  1. VS Code webview: `acquireVsCodeApi()` exists. Host → page by `webview.postMessage`;
 *     page → host by `vscode.postMessage`; view window and selection persist with
 *     `vscode.setState/getState` (restored after a window reload).
 *  2. Injected host: `window.__shutdownTraceHost = { postMessage(msg), getState?(), setState?(s) }`
 *     defined before this bundle runs. Host → page by `window.postMessage(msg, '*')`.
 *  3. Inside an iframe: page → `window.parent.postMessage(msg, '*')`; host → page by posting
 *     to the iframe's window.
 *  4. Standalone page (`shutdown-trace view`), served by a plain HTTP server on 127.0.0.1:
 *
 *     GET /             → the shell from `renderWebviewHtml()` (src/core/webview-html.ts), e.g.
 *                         renderWebviewHtml({ scriptUri: '/webview.js', styleUri: '/webview.css',
 *                           cspSource: "'self'", nonce: makeNonce(), title,
 *                           initial?: trace-or-message(s),
 *                           standalone: { traceUrl: '/trace.json', eventsUrl?: '/events',
 *                                         postUrl?: '/message', commands?: boolean } })
 *                         served as text/html with header `Content-Security-Policy:
 *                         webviewCsp("'self'", nonce, "'self'")` (the same policy as the meta).
 *                         `standalone` adds `connect-src 'self'` so the page may fetch.
 *     GET /webview.js   → media/webview.js (text/javascript)
 *     GET /webview.css  → media/webview.css (text/css)
 *     GET /trace.json   → the Trace as JSON (application/json). Fetched once, only when the page
 *                         has no embedded trace (`initial`) and no `eventsUrl`. A non-2xx
 *                         response is shown in the error banner with its body text, and a
 *                         damaged file with parseTrace()'s message.
 *     GET /events       → optional, `text/event-stream`, for live runs: each SSE `data:` line is
 *                         one HostToWebview JSON message — first `{type:'trace', trace, live:true}`
 *                         then `append`s, then `finished`. (Replaces /trace.json when given.)
 *     POST /message     → optional: body is a WebviewToHost JSON message (`ready`, `open-frame`,
 *                         `command`, `select`); answer 204. Without it, open-frame shows the
 *                         file:line in the toolbar instead.
 *     Data may also be embedded instead: `initial` may be a Trace, a HostToWebview message or
 *     an array of them; it is applied right after `ready`. The view state is kept in
 *     sessionStorage.
 *
 * Themes: VS Code sets body classes `vscode-light` / `vscode-dark` / `vscode-high-contrast`
 * (`-light`) and `--vscode-*` variables; webview.css maps them, with fallbacks (and
 * `prefers-color-scheme`) for the standalone page. A `theme` message sets the body class.
 *
 * Hooks for tests and benchmarks: `window.__shutdownTraceStats` (see Stats in app.ts:
 * loadMs, firstPaintMs, buildMs, frameMs, maxFrameMs, domItems, …) and `window.__shutdownTrace`
 * ({ view(), zoom(f), pan(px), fit(), select(key), drawNow(), benchFrames(n) }).
 */
import { App } from './app';

function boot(): void {
  const mount = document.getElementById('app') ?? document.body.appendChild(document.createElement('div'));
  mount.classList.add('st-app');
  new App(mount);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot, { once: true });
else boot();
