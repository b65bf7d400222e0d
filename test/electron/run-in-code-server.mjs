#!/usr/bin/env node
// Runs the same extension-host suite (test/electron/suite) inside code-server's remote extension
// host, for machines where @vscode/test-electron cannot download VS Code. The workbench starts
// the suite itself (extensionDevelopmentPath / extensionTestsPath in its URL payload), exactly as
// VS Code's own web integration tests do; the suite writes its results to a JSON file.
//
//   bash scripts/setup-code-server.sh   # once: code-server 4.100.3 into .cache/code-server
//   node test/electron/run-in-code-server.mjs
//
// When the webview bundle (media/webview.js) is built, it also checks that the timeline panel's
// webview rendered a verdict (the ready handshake worked).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { bundleSuite } from './bundle-suite.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const entry = path.join(root, '.cache/code-server/node_modules/code-server/out/node/entry.js');
const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
const TIMEOUT_MS = 240_000;

const say = (s) => console.log(`[electron-suite@code-server] ${s}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (!fs.existsSync(entry)) {
  say('code-server is not installed (.cache/code-server). Run: bash scripts/setup-code-server.sh');
  process.exit(1);
}
if (!fs.existsSync(CHROMIUM)) {
  say(`chromium not found at ${CHROMIUM}. Run: bash scripts/setup-code-server.sh`);
  process.exit(1);
}

const build = spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(1);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'st-electron-cs-'));
const suite = path.join(tmp, 'suite.js');
await bundleSuite(suite);
const workspace = path.join(tmp, 'workspace');
fs.cpSync(path.join(here, 'workspace'), workspace, { recursive: true });
// The fixture's TypeScript runs through a workspace-local tsx, as in a real project.
fs.symlinkSync(path.join(root, 'node_modules'), path.join(workspace, 'node_modules'), 'dir');
const userData = path.join(tmp, 'user-data');
fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
fs.writeFileSync(
  path.join(userData, 'User', 'settings.json'),
  JSON.stringify({
    'workbench.startupEditor': 'none',
    'telemetry.telemetryLevel': 'off',
    'extensions.autoUpdate': false,
    'git.enabled': false,
    'security.workspace.trust.enabled': false,
    'remote.autoForwardPorts': false,
  }),
);
const results = path.join(tmp, 'results.json');
const port = await new Promise((resolve, reject) => {
  const s = net.createServer();
  s.once('error', reject);
  s.listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const env = {
  ...process.env,
  XDG_CONFIG_HOME: path.join(tmp, 'xdg-config'),
  XDG_DATA_HOME: path.join(tmp, 'xdg-data'),
  XDG_CACHE_HOME: path.join(tmp, 'xdg-cache'),
  SHUTDOWN_TRACE_TEST_RESULTS: results,
  SHUTDOWN_TRACE_HOLD_UNTIL: path.join(tmp, 'dom-checked'),
  PASSWORD: undefined,
  HASHED_PASSWORD: undefined,
};
const logFile = path.join(tmp, 'code-server.log');
const out = fs.openSync(logFile, 'a');
const server = spawn(
  process.execPath,
  [
    entry,
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir',
    userData,
    '--extensions-dir',
    path.join(tmp, 'extensions'),
    workspace,
  ],
  { cwd: tmp, env, detached: true, stdio: ['ignore', out, out] },
);
fs.closeSync(out);
let browser;
let code = 1;
const cleanup = async () => {
  await browser?.close().catch(() => {});
  try {
    process.kill(-server.pid, 'SIGKILL'); // its own process group (detached = setsid)
  } catch {}
};
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  let up = false;
  for (let i = 0; i < 300 && !up; i++) {
    try {
      up = (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
    } catch {}
    if (!up) await sleep(100);
  }
  if (!up) throw new Error(`code-server did not come up on 127.0.0.1:${port} (log: ${logFile})`);

  const authority = `127.0.0.1:${port}`;
  const payload = JSON.stringify([
    ['extensionDevelopmentPath', `vscode-remote://${authority}${root}`],
    ['extensionTestsPath', `vscode-remote://${authority}${suite}`],
  ]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    env,
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('console', (m) => {
    const t = m.text().replace(/^%c\s*\w+\s+color:\s*\S+\s*/, '');
    if (/^(ok - |not ok - |\d+ passed, \d+ failed)/.test(t) || /^ {2}/.test(t)) console.log(t);
  });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`);
  const t0 = Date.now();
  while (!fs.existsSync(results) && Date.now() - t0 < TIMEOUT_MS) await sleep(250);
  if (!fs.existsSync(results)) throw new Error(`the suite wrote no results within ${TIMEOUT_MS / 1000} s (log: ${logFile}; extension host logs under ${userData}/logs)`);
  const r = JSON.parse(fs.readFileSync(results, 'utf8'));
  code = r.failed === 0 && r.passed > 0 ? 0 : 1;

  if (fs.existsSync(path.join(root, 'media', 'webview.js'))) {
    // The suite ends with the timeline panel showing the last run: its webview must have rendered it.
    const frame = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    try {
      const el = frame.locator('[data-testid=verdict]').first();
      await el.waitFor({ state: 'visible', timeout: 15_000 });
      let verdict = '';
      for (const until = Date.now() + 15_000; Date.now() < until; await sleep(250)) {
        verdict = (await el.innerText().catch(() => '')).trim();
        if (verdict && !/^(Waiting for a trace|Loading)/i.test(verdict)) break;
      }
      if (!verdict || /^(Waiting for a trace|Loading)/i.test(verdict)) throw new Error(`the verdict still reads "${verdict}"`);
      console.log(`ok - the timeline webview rendered the verdict: ${verdict.split('\n')[0]}`);
    } catch (e) {
      console.log(`not ok - the timeline webview shows no verdict (${e instanceof Error ? e.message.split('\n')[0] : e})`);
      code = 1;
    }
    if (process.env.SHUTDOWN_TRACE_SCREENSHOT) await page.screenshot({ path: process.env.SHUTDOWN_TRACE_SCREENSHOT });
    fs.writeFileSync(path.join(tmp, 'dom-checked'), '');
  } else {
    say('media/webview.js is not built: the webview check is skipped');
  }
  say(code === 0 ? 'passed' : 'FAILED');
} catch (e) {
  say(`error: ${e instanceof Error ? e.message : String(e)}`);
  code = 1;
} finally {
  await cleanup();
  if (code === 0) fs.rmSync(tmp, { recursive: true, force: true });
  else say(`kept ${tmp} for inspection`);
}
process.exit(code);
