/**
 * The host bridge. See the contract at the top of main.ts.
 *
 *  - VS Code: `acquireVsCodeApi()` → postMessage / getState / setState; host messages arrive as
 *    window `message` events.
 *  - Injected host: `window.__shutdownTraceHost = { postMessage(msg), getState?(), setState?(s) }`
 *    defined before the bundle runs (tests, embedders); host messages via `window.postMessage`.
 *  - In an iframe: messages to `window.parent`, host messages via `message` events.
 *  - Standalone page (`shutdown-trace view`): initial data embedded in the page, `GET traceUrl`,
 *    an EventSource on `eventsUrl`, `POST postUrl`; state in sessionStorage.
 */
import { HOST_TO_WEBVIEW_TYPES, type HostToWebview, type WebviewToHost } from '../../src/shared/messages';

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(s: unknown): void;
}
export interface InjectedHost {
  postMessage(msg: WebviewToHost): void;
  getState?(): unknown;
  setState?(s: unknown): void;
}
declare global {
  interface Window {
    __shutdownTraceHost?: InjectedHost;
    acquireVsCodeApi?: () => VsCodeApi;
  }
}

export type HostKind = 'vscode' | 'injected' | 'iframe' | 'standalone';

export class Host {
  readonly kind: HostKind;
  readonly commands: boolean;
  private vscode: VsCodeApi | null = null;
  private injected: InjectedHost | null = null;
  private readonly postUrl: string | undefined;
  private readonly stateKey: string;
  /** Called when a post could not reach anything (plain browser without a server endpoint). */
  onUndeliverable: ((msg: WebviewToHost) => void) | null = null;

  constructor() {
    const body = document.body;
    this.postUrl = body.dataset.postUrl || undefined;
    this.stateKey = 'shutdown-trace:' + location.pathname;
    if (typeof window.acquireVsCodeApi === 'function') {
      this.vscode = window.acquireVsCodeApi();
      this.kind = 'vscode';
      this.commands = true;
    } else if (window.__shutdownTraceHost && typeof window.__shutdownTraceHost.postMessage === 'function') {
      this.injected = window.__shutdownTraceHost;
      this.kind = 'injected';
      this.commands = body.dataset.commands === '1';
    } else if (window.parent && window.parent !== window) {
      this.kind = 'iframe';
      this.commands = body.dataset.commands === '1';
    } else {
      this.kind = 'standalone';
      this.commands = body.dataset.commands === '1' && !!this.postUrl;
    }
  }

  post(msg: WebviewToHost): void {
    try {
      if (this.vscode) return this.vscode.postMessage(msg);
      if (this.injected) return this.injected.postMessage(msg as WebviewToHost);
      if (this.kind === 'iframe') return window.parent.postMessage(msg, '*');
      if (this.postUrl) {
        void fetch(this.postUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(msg), keepalive: true }).catch(() => {
          if (msg.type !== 'ready' && msg.type !== 'select') this.onUndeliverable?.(msg);
        });
        return;
      }
    } catch {
      /* fall through */
    }
    if (msg.type !== 'ready' && msg.type !== 'select') this.onUndeliverable?.(msg);
  }

  getState(): unknown {
    try {
      if (this.vscode) return this.vscode.getState();
      if (this.injected?.getState) return this.injected.getState();
      const s = sessionStorage.getItem(this.stateKey);
      return s ? JSON.parse(s) : undefined;
    } catch {
      return undefined;
    }
  }

  setState(s: unknown): void {
    try {
      if (this.vscode) return this.vscode.setState(s);
      if (this.injected?.setState) return this.injected.setState(s);
      sessionStorage.setItem(this.stateKey, JSON.stringify(s));
    } catch {
      /* storage may be unavailable (opaque origin) */
    }
  }

  /**
   * Wire incoming messages, then say `ready` and load what the page itself carries.
   * `deliver` gets every HostToWebview message, in order.
   */
  start(deliver: (msg: HostToWebview) => void, fail: (message: string) => void, deliverText: (text: string, source: string) => void): void {
    window.addEventListener('message', (ev: MessageEvent) => {
      const d = ev.data as { type?: unknown } | null;
      if (!d || typeof d !== 'object' || typeof d.type !== 'string') return;
      if (!KNOWN.has(d.type)) return;
      deliver(d as HostToWebview);
    });
    this.post({ type: 'ready' });
    let hadTrace = false;
    const node = document.getElementById('shutdown-trace-initial');
    if (node && node.textContent) {
      try {
        const data = JSON.parse(node.textContent) as unknown;
        for (const m of normalizeInitial(data)) {
          if (m.type === 'trace' || m.type === 'finished') hadTrace = true;
          deliver(m);
        }
      } catch (e) {
        fail(`The embedded trace could not be read: ${(e as Error).message}`);
      }
    }
    const body = document.body;
    const traceUrl = body.dataset.traceUrl;
    const eventsUrl = body.dataset.eventsUrl;
    if (traceUrl && !hadTrace && !eventsUrl) {
      fetch(traceUrl, { cache: 'no-store' })
        .then(async (r) => {
          const text = await r.text();
          if (!r.ok) throw new Error(`${r.status} ${r.statusText}${text ? ': ' + text.slice(0, 500) : ''}`);
          return text;
        })
        .then((text) => deliverText(text, traceUrl))
        .catch((e: Error) => fail(`Could not load ${traceUrl}: ${e.message}`));
    }
    if (eventsUrl && typeof EventSource === 'function') {
      const es = new EventSource(eventsUrl);
      let warned = false;
      es.onmessage = (ev: MessageEvent<string>) => {
        warned = false;
        try {
          const m = JSON.parse(ev.data) as HostToWebview;
          if (m && typeof m.type === 'string' && KNOWN.has(m.type)) deliver(m);
        } catch (e) {
          fail(`A live update could not be read: ${(e as Error).message}`);
        }
      };
      es.onerror = () => {
        if (es.readyState === EventSource.CLOSED || !warned) {
          warned = true;
          if (es.readyState === EventSource.CLOSED) fail('Lost the connection to the viewer; reload to reconnect.');
        }
      };
    }
  }
}

// A message type this page does not know (a newer host) is dropped here.
const KNOWN = HOST_TO_WEBVIEW_TYPES;

function normalizeInitial(data: unknown): HostToWebview[] {
  if (Array.isArray(data)) return data.flatMap((d) => normalizeInitial(d));
  if (!data || typeof data !== 'object') return [];
  const o = data as Record<string, unknown>;
  if (o.format === 'shutdown-trace') return [{ type: 'trace', trace: o as never, live: false }];
  if (typeof o.type === 'string' && KNOWN.has(o.type)) return [o as unknown as HostToWebview];
  return [{ type: 'error', message: 'The embedded data is neither a trace nor a host message.' }];
}
