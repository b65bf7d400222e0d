/**
 * Test harness for the timeline webview: builds the bundle, serves the real HTML shell (with
 * its CSP as both header and meta) from 127.0.0.1:0, and drives it in real Chromium.
 *
 * Page modes:
 *  - 'host'      : an injected `window.__shutdownTraceHost` records every posted message in
 *                  `window.__posted`; the test sends host messages with `send()`.
 *  - 'vscode'    : a fake `acquireVsCodeApi` (state kept in sessionStorage so it survives
 *                  reloads, like VS Code's) — posted messages in `window.__posted`.
 *  - 'standalone': no host at all; data comes from `initial` or GET /trace.json.
 *
 * Also exported for benchmarks: `readStats(page)` returns `window.__shutdownTraceStats`.
 */
import * as http from 'node:http';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import * as esbuild from 'esbuild';
import { renderWebviewHtml, makeNonce, webviewCsp } from '../../src/core/webview-html';
import type { HostToWebview, WebviewToHost } from '../../src/shared/messages';
import type { Trace } from '../../src/shared/trace';
import type { Stats } from '../../webview/src/app';

export const ROOT = path.resolve(__dirname, '..', '..');
export const TRACES = path.join(__dirname, 'traces');
export const RESULTS = path.join(ROOT, 'test-results');

let built: Promise<{ js: string; css: string }> | null = null;
/**
 * The bundle, built from webview/src/main.ts with the same options as scripts/build.mjs, in
 * memory (test files run in parallel; none of them rewrites media/webview.js under another).
 * SHUTDOWN_TRACE_USE_BUILT=1 serves the media/webview.js already on disk instead.
 */
export function buildBundle(): Promise<{ js: string; css: string }> {
  const css = (): string => fs.readFileSync(path.join(ROOT, 'media/webview.css'), 'utf8');
  if (process.env.SHUTDOWN_TRACE_USE_BUILT) return Promise.resolve({ js: fs.readFileSync(path.join(ROOT, 'media/webview.js'), 'utf8'), css: css() });
  built ??= esbuild
    .build({
      absWorkingDir: ROOT,
      entryPoints: ['webview/src/main.ts'],
      outfile: 'media/webview.js',
      write: false,
      bundle: true,
      sourcemap: false,
      minify: false,
      platform: 'browser',
      target: 'es2020',
      format: 'iife',
      logLevel: 'warning',
    })
    .then((r) => ({ js: r.outputFiles.find((f) => f.path.endsWith('.js'))!.text, css: css() }));
  return built;
}

export function loadTrace(name: string): Trace {
  return JSON.parse(fs.readFileSync(path.join(TRACES, name), 'utf8')) as Trace;
}

/**
 * Where `needle` first occurs in a fixture service's source, test/fixtures/<project>/<file>: the
 * site a regenerated trace gives what that code creates. `text` is `file:line:col`, as the
 * timeline shows it (relative to the run's working directory, the project).
 */
export function sourceSite(project: string, file: string, needle: string): { line: number; col: number; text: string } {
  const lines = fs.readFileSync(path.join(ROOT, 'test', 'fixtures', project, file), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`${needle} is not in test/fixtures/${project}/${file}`);
  const col = lines[i].indexOf(needle) + 1;
  return { line: i + 1, col, text: `${file}:${i + 1}:${col}` };
}

export interface ServerOptions {
  /** Embedded in the page (initial). */
  initial?: unknown;
  /** Served at /trace.json (string = raw body). */
  traceJson?: unknown;
  traceStatus?: number;
  standalone?: boolean;
  title?: string;
  /**
   * Served as an EventSource stream at /events (standalone), one message per `data:`: the first
   * when the page connects, each next one when the test calls `nextEvent()`, so what the page shows
   * between two messages can be checked whatever the machine's speed.
   */
  events?: { messages: unknown[] };
}

export interface Served {
  url: string;
  nonce: string;
  csp: string;
  posted: unknown[];
  /** Sends the next `events` message to the connected /events streams; throws when none is connected or none is left. */
  nextEvent(): void;
  set(o: ServerOptions): void;
  close(): Promise<void>;
}

export async function serve(initialOpts: ServerOptions = {}): Promise<Served> {
  const bundle = await buildBundle();
  let opts = initialOpts;
  const posted: unknown[] = [];
  let lastNonce = '';
  let lastCsp = '';
  const streams = new Set<http.ServerResponse>();
  let pending: unknown[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/' || url.pathname === '/index.html') {
      const nonce = makeNonce();
      const standalone = opts.standalone ? { traceUrl: opts.traceJson !== undefined ? '/trace.json' : undefined, eventsUrl: opts.events ? '/events' : undefined, postUrl: '/message' } : undefined;
      const html = renderWebviewHtml({ scriptUri: '/webview.js', styleUri: '/webview.css', cspSource: "'self'", nonce, title: opts.title, initial: opts.initial, standalone });
      lastNonce = nonce;
      lastCsp = webviewCsp("'self'", nonce, standalone ? "'self'" : undefined);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': lastCsp, 'cache-control': 'no-store' });
      res.end(html);
      return;
    }
    if (url.pathname === '/webview.js' || url.pathname === '/webview.css') {
      const js = url.pathname.endsWith('.js');
      res.writeHead(200, { 'content-type': js ? 'text/javascript' : 'text/css', 'cache-control': 'no-store' });
      res.end(js ? bundle.js : bundle.css);
      return;
    }
    if (url.pathname === '/trace.json' && opts.traceJson !== undefined) {
      const body = typeof opts.traceJson === 'string' ? opts.traceJson : JSON.stringify(opts.traceJson);
      res.writeHead(opts.traceStatus ?? 200, { 'content-type': 'application/json' });
      res.end(body);
      return;
    }
    if (url.pathname === '/events' && opts.events) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      pending = opts.events.messages.slice();
      streams.add(res);
      req.on('close', () => streams.delete(res));
      // the stream stays open after the last message, like a live viewer's
      const first = pending.shift();
      if (first !== undefined) res.write(`data: ${JSON.stringify(first)}\n\n`);
      return;
    }
    if (url.pathname === '/message' && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        try {
          posted.push(JSON.parse(body));
        } catch {
          posted.push(body);
        }
        res.writeHead(204);
        res.end();
      });
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    res.writeHead(404);
    res.end('not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    get nonce() {
      return lastNonce;
    },
    get csp() {
      return lastCsp;
    },
    posted,
    nextEvent() {
      if (streams.size === 0) throw new Error('no /events stream is connected');
      const m = pending.shift();
      if (m === undefined) throw new Error('no /events message is left');
      for (const res of streams) res.write(`data: ${JSON.stringify(m)}\n\n`);
    },
    set(o) {
      opts = o;
    },
    close: () => {
      for (const res of streams) res.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export type Theme = 'light' | 'dark' | 'high-contrast' | 'high-contrast-light' | 'none';

export interface OpenOptions {
  mode?: 'host' | 'vscode' | 'standalone';
  theme?: Theme;
  viewport?: { width: number; height: number };
}

export interface Opened {
  page: Page;
  /** Console errors, page errors, CSP violations and dialogs seen so far. */
  problems: string[];
  dialogs: string[];
  cspViolations: string[];
  send(msg: HostToWebview): Promise<void>;
  posted(): Promise<WebviewToHost[]>;
}

const BODY_CLASS: Record<Exclude<Theme, 'none'>, string> = {
  light: 'vscode-light',
  dark: 'vscode-dark',
  'high-contrast': 'vscode-high-contrast',
  'high-contrast-light': 'vscode-high-contrast vscode-high-contrast-light',
};

const INIT_SCRIPT = String.raw`function (mode, bodyClass) {
  var w = window;
  w.__posted = [];
  document.addEventListener('securitypolicyviolation', function (e) {
    w.__reportCsp(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''));
  });
  if (bodyClass) {
    var apply = function () { bodyClass.split(' ').forEach(function (c) { document.body.classList.add(c); }); };
    if (document.body) apply();
    else new MutationObserver(function (_, obs) { if (document.body) { apply(); obs.disconnect(); } }).observe(document, { childList: true, subtree: true });
  }
  var record = function (m) { w.__posted.push(JSON.parse(JSON.stringify(m))); };
  if (mode === 'host') {
    w.__shutdownTraceHost = { postMessage: record };
  } else if (mode === 'vscode') {
    w.acquireVsCodeApi = function () {
      return {
        postMessage: record,
        getState: function () { var s = sessionStorage.getItem('__vscodeState'); return s ? JSON.parse(s) : undefined; },
        setState: function (s) { sessionStorage.setItem('__vscodeState', JSON.stringify(s)); },
      };
    };
  }
}`;

export async function open(browser: Browser, served: Served, o: OpenOptions = {}): Promise<Opened> {
  const ctx = await browser.newContext({ viewport: o.viewport ?? { width: 1280, height: 820 }, deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  const problems: string[] = [];
  const dialogs: string[] = [];
  const cspViolations: string[] = [];
  page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push('console: ' + m.text());
  });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.exposeFunction('__reportCsp', (s: string) => cspViolations.push(s));
  const mode = o.mode ?? 'host';
  const theme = o.theme ?? 'dark';
  // A string, not a function: tsx would inject helpers (__name) the page does not have.
  await page.addInitScript(`(${INIT_SCRIPT})(${JSON.stringify(mode)}, ${JSON.stringify(theme === 'none' ? '' : BODY_CLASS[theme])});`);
  await page.goto(served.url);
  await page.waitForFunction(() => (window as unknown as { __shutdownTraceStats?: { ready: boolean } }).__shutdownTraceStats?.ready === true);
  return {
    page,
    problems,
    dialogs,
    cspViolations,
    send: async (msg) => {
      await page.evaluate((m) => window.postMessage(m, '*'), msg as unknown as Record<string, unknown>);
    },
    posted: () => page.evaluate(() => (window as unknown as { __posted: WebviewToHost[] }).__posted),
  };
}

/** The webview's own stats hook (`window.__shutdownTraceStats`), typed by the app itself. */
export type WebviewStats = Stats;

/** For benchmarks: the page's render statistics. */
export function readStats(page: Page): Promise<WebviewStats> {
  return page.evaluate(() => ({ ...(window as unknown as { __shutdownTraceStats: WebviewStats }).__shutdownTraceStats }));
}

/** Wait until a trace is loaded and painted, and the item layer synced. */
export async function waitLoaded(page: Page, loads = 1): Promise<void> {
  await page.waitForFunction((n) => {
    const s = (window as unknown as { __shutdownTraceStats: WebviewStats }).__shutdownTraceStats;
    return s.loads >= n && s.firstPaintMs > 0 && s.domItems > 0;
  }, loads);
}

export function screenshotPath(name: string): string {
  fs.mkdirSync(RESULTS, { recursive: true });
  return path.join(RESULTS, name);
}

/** Width of the row-label gutter (render.ts). */
export const GUTTER = 196;

export interface Item {
  kind: string;
  text: string;
  t: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The accessible timeline items (optionally of one kind) with their boxes relative to the timeline. */
export async function items(page: Page, kind?: string): Promise<Item[]> {
  return page.$$eval(kind ? `[data-testid=tl-item][data-kind="${kind}"]` : '[data-testid=tl-item]', (els) =>
    els.map((e) => {
      const b = e.getBoundingClientRect();
      const tl = document.querySelector('[data-testid=timeline]')!.getBoundingClientRect();
      return { kind: (e as HTMLElement).dataset.kind!, text: e.textContent!, t: Number((e as HTMLElement).dataset.t), x: b.left - tl.left, y: b.top - tl.top, w: b.width, h: b.height };
    }),
  );
}

/** Fit frames the shutdown (signal → deadline); Fit again shows the whole run. Clicks until it does. */
export async function fitAll(page: Page): Promise<void> {
  for (let k = 0; k < 3; k++) {
    await page.click('[data-testid=fit]');
    const t0 = await page.evaluate(async () => {
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return Number((document.querySelector('[data-testid=timeline]') as HTMLElement).dataset.t0);
    });
    if (t0 <= 0) break;
  }
  await page.waitForTimeout(120);
}
