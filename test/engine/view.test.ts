/**
 * `shutdown-trace view`: the CLI serves the same timeline on 127.0.0.1; a real Chromium shows
 * the verdict, the leak with its file:line, and a clicked frame is reported back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import { chromium } from 'playwright-core';
import { runTraced, node, CLI } from './helpers';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function get(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    }).on('error', reject);
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
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
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
      assert.match(await page.locator('[data-testid=verdict]').innerText(), /Killed at the 1\.50 s deadline/);
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
