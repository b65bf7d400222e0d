#!/usr/bin/env node
// Runs test/electron/suite in a real VS Code through @vscode/test-electron.
//
//   node test/electron/run.mjs
//
// Needs network access to download VS Code (into .cache/vscode-test) unless VSCODE_EXECUTABLE
// points at an installed one. Where VS Code cannot be downloaded (machines that reach only the
// npm registry), it says so plainly and exits non-zero, or 0 when SHUTDOWN_TRACE_ALLOW_NO_VSCODE=1:
// the code-server e2e test (test/e2e) covers the same path there.
//
// Env: VSCODE_EXECUTABLE (skip the download), VSCODE_TEST_VERSION (default 1.100.3),
//      SHUTDOWN_TRACE_TEST_RESULTS (JSON results file), SHUTDOWN_TRACE_ALLOW_NO_VSCODE=1.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';
import { bundleSuite } from './bundle-suite.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const version = process.env.VSCODE_TEST_VERSION || '1.100.3';
const allowNoVscode = process.env.SHUTDOWN_TRACE_ALLOW_NO_VSCODE === '1';

function say(s) {
  console.log(`[electron-test] ${s}`);
}

// 1. Build the extension and bundle the suite (the extension host loads plain CommonJS).
const build = spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  say('the build failed');
  process.exit(1);
}
const outDir = path.join(root, '.cache', 'electron-test');
const suite = path.join(outDir, 'suite.js');
await bundleSuite(suite);

// 2. A VS Code to run in.
let vscodeExecutablePath = process.env.VSCODE_EXECUTABLE;
if (!vscodeExecutablePath) {
  try {
    vscodeExecutablePath = await downloadAndUnzipVSCode({ version, cachePath: path.join(root, '.cache', 'vscode-test'), timeout: 20_000 });
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    console.log(`VS Code could not be downloaded (${why}); the code-server e2e test covers this path here.`);
    if (allowNoVscode) {
      say('SHUTDOWN_TRACE_ALLOW_NO_VSCODE=1: exiting 0 without running the extension-host suite.');
      process.exit(0);
    }
    say('set SHUTDOWN_TRACE_ALLOW_NO_VSCODE=1 to accept this, or VSCODE_EXECUTABLE to use an installed VS Code.');
    say("the same suite also runs in code-server's extension host: node test/electron/run-in-code-server.mjs");
    process.exit(1);
  }
}

// 3. A fresh workspace copy and user data dir, so runs never touch the repo or the user's profile.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shutdown-trace-vscode-'));
const workspace = path.join(tmp, 'workspace');
fs.cpSync(path.join(here, 'workspace'), workspace, { recursive: true });
// The fixture's TypeScript runs through a workspace-local tsx, as in a real project.
fs.symlinkSync(path.join(root, 'node_modules'), path.join(workspace, 'node_modules'), 'dir');
const userData = path.join(tmp, 'user-data');
fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
fs.writeFileSync(
  path.join(userData, 'User', 'settings.json'),
  JSON.stringify({ 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', 'extensions.autoUpdate': false, 'git.enabled': false, 'security.workspace.trust.enabled': false }),
);

let code = 1;
try {
  code = await runTests({
    vscodeExecutablePath,
    extensionDevelopmentPath: root,
    extensionTestsPath: suite,
    extensionTestsEnv: { SHUTDOWN_TRACE_TEST_RESULTS: process.env.SHUTDOWN_TRACE_TEST_RESULTS },
    launchArgs: [
      workspace,
      '--disable-extensions',
      '--disable-workspace-trust',
      '--skip-welcome',
      '--skip-release-notes',
      `--user-data-dir=${userData}`,
      `--extensions-dir=${path.join(tmp, 'extensions')}`,
    ],
  });
} catch (e) {
  say(`VS Code ran but the suite failed: ${e instanceof Error ? e.message : String(e)}`);
  code = 1;
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(code);
