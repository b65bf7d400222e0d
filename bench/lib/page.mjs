// Serving the real webview shell (renderWebviewHtml + media/webview.js/css) from 127.0.0.1:0 the
// way the standalone viewer contract in webview/src/main.ts describes, and driving it in headless
// Chromium (the same flags as test/webview/harness.ts).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT } from './build.mjs';

const require = createRequire(import.meta.url);

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchBrowser() {
  const { chromium } = require('playwright-core');
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: CHROMIUM_ARGS, timeout: 30000 });
}

/**
 * mode 'host'  : an injected host (window.__shutdownTraceHost); the bench posts messages itself.
 * mode 'events': standalone page with eventsUrl=/events; `onEvents(res)` owns the SSE stream.
 */
export async function serveWebview(helpers, { mode = 'host', onEvents } = {}) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/') {
      const nonce = helpers.makeNonce();
      const standalone = mode === 'events' ? { eventsUrl: '/events' } : undefined;
      const html = helpers.renderWebviewHtml({ scriptUri: '/webview.js', styleUri: '/webview.css', cspSource: "'self'", nonce, title: 'bench', standalone });
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': helpers.webviewCsp("'self'", nonce, standalone ? "'self'" : undefined),
        'cache-control': 'no-store',
      });
      res.end(html);
      return;
    }
    if (url.pathname === '/webview.js' || url.pathname === '/webview.css') {
      res.writeHead(200, { 'content-type': url.pathname.endsWith('.js') ? 'text/javascript' : 'text/css', 'cache-control': 'no-store' });
      // BENCH_WEBVIEW_DIR: serve a prototype bundle instead of media/ (to measure a proposed fix)
      res.end(fs.readFileSync(path.join(process.env.BENCH_WEBVIEW_DIR || path.join(ROOT, 'media'), url.pathname.slice(1))));
      return;
    }
    if (url.pathname === '/events' && onEvents) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.flushHeaders();
      onEvents(res);
      return;
    }
    res.writeHead(url.pathname === '/favicon.ico' ? 204 : 404);
    res.end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const sockets = new Set();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export async function openPage(browser, url, { initScript, viewport = { width: 1280, height: 820 } } = {}) {
  const ctx = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push('console: ' + m.text());
  });
  if (initScript) await page.addInitScript(initScript);
  await page.goto(url, { timeout: 30000 });
  await page.waitForFunction(() => window.__shutdownTraceStats?.ready === true, null, { timeout: 30000 });
  return { page, ctx, problems };
}

/** Offset of the page's clock (timeOrigin + now) from this process's, from the tightest of n round trips. */
export async function clockOffset(page, n = 15) {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < n; i++) {
    const a = performance.timeOrigin + performance.now();
    const p = await page.evaluate(() => performance.timeOrigin + performance.now());
    const b = performance.timeOrigin + performance.now();
    if (b - a < best.rtt) best = { rtt: b - a, offset: p - (a + b) / 2 };
  }
  return best;
}
