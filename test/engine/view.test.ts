/**
 * `shutdown-trace view`: the CLI serves the same timeline on 127.0.0.1; a real Chromium shows
 * the verdict, the leak with its file:line, and a clicked frame is reported back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import { chromium } from 'playwright-core';
import * as path from 'node:path';
import { runTraced, node, CLI, ROOT } from './helpers';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function get(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

test('view serves the timeline of a saved trace on 127.0.0.1 and shows the leak', { timeout: 60_000 }, async () => {
  const r = await runTraced(node('leaked-interval.js'));
  const cli = spawn(process.execPath, [CLI, 'view', r.tracePath, '--for', '40s'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  cli.stdout.on('data', (d) => (out += d));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 10_000);
      cli.stdout.on('data', () => {
        const m = /http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{16,}\//.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[0]);
        }
      });
    });
    const page0 = await get(url);
    assert.equal(page0.status, 200);
    assert.match(String(page0.headers['content-security-policy']), /script-src 'nonce-[^']+'/);
    assert.doesNotMatch(String(page0.headers['content-security-policy']), /unsafe-inline|https?:/);
    assert.equal((await get(url + '../etc/passwd')).status, 404, 'serves fixed paths only');
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      await page.goto(url);
      await page.locator('[data-testid=verdict]').waitFor();
      assert.match(await page.locator('[data-testid=verdict]').innerText(), /^Killed at the 1\.5 s deadline: 1 leak kept it alive$/);
      const leak = page.locator('[data-testid=leak]').first();
      assert.match(await leak.innerText(), /setInterval 1000 ms[\s\S]*leaked-interval\.js:5:19/);
      assert.ok((await page.locator('[data-testid=tl-item][data-kind=signal]').count()) > 0, 'signal marker on the timeline');
      // Select the leak and click its frame: the viewer reports the file:line on stdout.
      await leak.click();
      const frame = page.locator('[data-testid=frame]').first();
      await frame.waitFor();
      await frame.click();
      const until = Date.now() + 5000;
      while (!/leaked-interval\.js:5:19/.test(out) && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
      assert.match(out, /\/test\/fixtures\/leaked-interval\.js:5:19/);
      assert.deepEqual(violations, []);
    } finally {
      await browser.close();
    }
  } finally {
    cli.kill('SIGINT');
    await new Promise((res) => cli.once('exit', res));
  }
});

/** Starts `view` on a trace file; resolves with its URL (secret included) and a way to read its stdout. */
async function startView(file: string): Promise<{ url: string; out: () => string; stop: () => Promise<void> }> {
  const cli = spawn(process.execPath, [CLI, 'view', file, '--for', '40s'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  cli.stdout.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 10_000);
    cli.stdout.on('data', () => {
      const m = /http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{16,}\//.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[0]);
      }
    });
  });
  return {
    url,
    out: () => out,
    stop: async () => {
      cli.kill('SIGINT');
      await new Promise((res) => cli.once('exit', res));
    },
  };
}

function request(url: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: o.method ?? 'GET', headers: o.headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

test('view answers only its own page: DNS rebinding, cross-origin posts and requests without the secret are refused; nothing posted reaches the terminal raw', { timeout: 30_000 }, async () => {
  const file = path.join(ROOT, 'test', 'unit', 'traces', 'leaked-interval.shutdown-trace.json');
  const v = await startView(file);
  try {
    const { origin, pathname } = new URL(v.url);
    const own = { origin, 'content-type': 'application/json' };
    assert.equal((await request(v.url + 'trace.json')).status, 200, 'the page itself is served');
    // DNS rebinding: evil.example now resolves to 127.0.0.1; the browser still says whose page it is.
    const rebound = await request(v.url + 'trace.json', { headers: { host: 'evil.example' } });
    assert.equal(rebound.status, 421);
    assert.doesNotMatch(rebound.body, /shutdown-trace|setInterval/);
    assert.equal((await request(v.url, { headers: { host: `evil.example:${new URL(v.url).port}` } })).status, 421);
    // The secret is required on every path.
    assert.equal((await request(`${origin}/trace.json`)).status, 404);
    assert.equal((await request(`${origin}/`)).status, 404);
    assert.equal((await request(`${origin}/${'A'.repeat(pathname.length - 2)}/trace.json`)).status, 404);
    assert.equal((await request(`${origin}${pathname.slice(0, -2)}/trace.json`)).status, 404);
    // A web page's form POST (text/plain, cross-origin), a no-cors fetch, a JSON post from elsewhere.
    const evil = '\x1b]0;pwned\x07\x1b[2J\nINJECTED line';
    const msg = JSON.stringify({ type: 'open-frame', file: evil, line: 1, col: 2 });
    const refused = [
      await request(v.url + 'message', { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'text/plain' }, body: msg }),
      await request(v.url + 'message', { method: 'POST', headers: { origin: 'null', 'content-type': 'text/plain;charset=UTF-8' }, body: msg }),
      await request(v.url + 'message', { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/json' }, body: msg }),
      await request(v.url + 'message', { method: 'POST', headers: { origin, 'content-type': 'text/plain' }, body: msg }),
      await request(v.url + 'message', { method: 'POST', headers: { 'content-type': 'application/json' }, body: msg }),
      await request(v.url + 'message', { method: 'POST', headers: { ...own, 'sec-fetch-site': 'cross-site' }, body: msg }),
      await request(v.url + 'message', { method: 'POST', headers: { ...own, host: 'evil.example' }, body: msg }),
    ];
    assert.deepEqual(
      refused.map((r) => r.status),
      [403, 403, 403, 415, 403, 403, 421],
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.doesNotMatch(v.out(), /pwned|INJECTED/, 'nothing refused was printed');
    // The page's own post is accepted; what it carries is printed on one line, without control characters.
    assert.equal((await request(v.url + 'message', { method: 'POST', headers: own, body: msg })).status, 204);
    const until = Date.now() + 3000;
    while (!/INJECTED/.test(v.out()) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const printed = v.out();
    assert.match(printed, /INJECTED line:1:2\n/);
    assert.ok(!/[\x00-\x09\x0b-\x1f\x7f-\x9f]/.test(printed), `no control characters: ${JSON.stringify(printed)}`);
    assert.ok(!printed.split('\n').some((l) => l.startsWith('INJECTED')), 'no injected line');
  } finally {
    await v.stop();
  }
});
