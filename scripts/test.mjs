// The one test command (npm test): lint (ESLint: import cycles, exhaustive switches) and the
// format check (prettier), build, make sure the browser and code-server are installed, then run
// every suite with node's test runner: core unit tests, the engine against real
// processes and signals, real libraries against a real PostgreSQL and Redis, the webview in
// real Chromium, and the extension in a real VS Code (code-server).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`\n${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
};

// A fresh clone: install the npm packages first.
if (!fs.existsSync(path.join(root, 'node_modules', '.bin', 'esbuild'))) run('npm', ['ci', '--no-audit', '--no-fund']);
const only = process.argv.slice(2);
// Lint and format first: they fail in a minute where the suites take many. Named suites
// alone (npm run test:e2e) skip them; "lint" runs them alone.
if (only.length === 0 || only.includes('lint')) {
  run(process.execPath, [path.join('node_modules', 'eslint', 'bin', 'eslint.js'), '.']);
  run(process.execPath, [path.join('node_modules', 'prettier', 'bin', 'prettier.cjs'), '--check', '.']);
  if (only.length === 1) process.exit(0);
}
run(process.execPath, ['scripts/build.mjs']);
// Idempotent and quick when already installed: Debian chromium + code-server 4.100.3 in .cache/.
run('bash', ['scripts/setup-code-server.sh']);

const suites = ['unit', 'engine', 'real', 'webview', 'e2e', 'electron'];
// The real-library suite's fixture services have their own dependencies (ioredis, pg, NestJS…).
const realApp = path.join(root, 'test', 'real-app');
if ((only.length ? only : suites).includes('real') && !fs.existsSync(path.join(realApp, 'node_modules'))) {
  run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: realApp });
}
const files = [];
for (const s of only.length ? only : suites) {
  const dir = path.join(root, 'test', s);
  if (!fs.existsSync(dir)) continue;
  for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.test.ts')) files.push(path.join('test', s, f));
}
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// A hung test fails after 15 minutes instead of holding CI to its limit (node's own assert can
// spin on an assert.ok() without a message when it parses a transpiled line to word the failure).
run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=900000', ...files], { env: { ...process.env, SHUTDOWN_TRACE_TEST: '1' } });
