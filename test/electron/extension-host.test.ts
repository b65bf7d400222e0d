/**
 * The extension-host suite (test/electron/suite) in a real VS Code: code-server 4.100.3's remote
 * extension host, started by run-in-code-server.mjs. (run.mjs is the @vscode/test-electron way,
 * for machines that can download VS Code.) Needs `bash scripts/setup-code-server.sh` once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

test('extension-host suite passes in code-server (runs, trace, export, viewer, handshake)', { timeout: 360_000 }, () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'run-in-code-server.mjs')], { encoding: 'utf8', timeout: 340_000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  assert.equal(r.status, 0, `run-in-code-server.mjs failed (exit ${r.status ?? r.signal}):\n${out.split('\n').slice(-40).join('\n')}`);
  assert.match(out, /\b\d+ passed, 0 failed\b/);
  assert.match(out, /ok - the timeline webview rendered the verdict/);
});
