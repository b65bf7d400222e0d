/**
 * `npm run package` → a .vsix that installs into code-server and works: package it, install it
 * with code-server's own --install-extension, check what is inside, then run the palette command
 * from the installed copy (not the repo) and see the leak on the timeline. The installed CLI also
 * runs on its own (everything bundled, no node_modules).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CodeServer, CODE_SERVER_ENTRY, REPO_ROOT, FIXTURE_WORKSPACE, assertInstalled } from './harness';

function walk(dir: string, base = dir): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name))]));
}

test('the packaged .vsix installs into code-server and works', { timeout: 240_000 }, async () => {
  assertInstalled();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'st-vsix-'));
  try {
    const pkg = spawnSync('npm', ['run', 'package', '--silent'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 180_000 });
    assert.equal(pkg.status, 0, `npm run package failed:\n${pkg.stdout}\n${pkg.stderr}`);
    const vsix = path.join(REPO_ROOT, 'shutdown-trace.vsix');
    assert.ok(fs.existsSync(vsix));
    assert.ok(fs.statSync(vsix).size < 2_000_000, 'a small, bundled package');

    const extDir = path.join(tmp, 'extensions');
    const env = { ...process.env, XDG_CONFIG_HOME: path.join(tmp, 'xdg'), XDG_DATA_HOME: path.join(tmp, 'xdg') };
    const inst = spawnSync(process.execPath, [CODE_SERVER_ENTRY, '--extensions-dir', extDir, '--user-data-dir', path.join(tmp, 'ud'), '--install-extension', vsix], {
      encoding: 'utf8',
      env,
      timeout: 60_000,
    });
    assert.equal(inst.status, 0, `install failed:\n${inst.stdout}\n${inst.stderr}`);
    const installed = fs.readdirSync(extDir).find((d) => d.startsWith('shutdown-trace.shutdown-trace-'));
    assert.ok(installed, `installed folder in ${fs.readdirSync(extDir)}`);
    const root = path.join(extDir, installed);
    const files = walk(root);
    // the walkthrough's pages: every step's media is in the package
    const walkthroughMedia = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).contributes.walkthroughs as { steps: { media: { markdown?: string } }[] }[]).flatMap((w) =>
      w.steps.map((st) => st.media.markdown).filter((m): m is string => !!m),
    );
    assert.ok(walkthroughMedia.length >= 3);
    for (const f of ['package.json', 'dist/extension.js', 'dist/preload.js', 'dist/cli.js', 'dist/watchdog.js', 'media/webview.js', 'media/webview.css', 'media/activity-bar.svg', ...walkthroughMedia])
      assert.ok(files.includes(f), `${f} in the package`);
    const stray = files.filter((f) => /^(src|test|webview|node_modules|bench|\.cache)\//.test(f) || f.endsWith('.map') || f.endsWith('.ts'));
    assert.deepEqual(stray, [], 'no sources, tests, caches or maps in the .vsix');

    // The installed CLI works with nothing but the package.
    const cli = spawnSync(
      process.execPath,
      [path.join(root, 'dist', 'cli.js'), 'run', '--grace', '1s', '--quiet', '--out', path.join(tmp, 't.shutdown-trace.json'), '--', process.execPath, path.join(FIXTURE_WORKSPACE, 'server.js')],
      { encoding: 'utf8', cwd: tmp, timeout: 30_000 },
    );
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stderr, /✖ setInterval 1000 ms {2}at .*server\.js:15:\d+\n {6}fix clearInterval\(\)/);

    // And the installed extension in code-server.
    const cs = await CodeServer.start({ extensionPath: root, openFile: 'server.js' });
    try {
      await cs.runCommand('Shutdown Trace: Run with shutdown trace');
      const wv = cs.webviewFrame();
      await wv.locator('[data-testid=leak]', { hasText: 'server.js:' }).first().waitFor({ timeout: 30_000 });
      assert.match((await wv.locator('[data-testid=verdict]').first().textContent()) ?? '', /Killed at the/);
    } finally {
      const { leftovers } = await cs.stop();
      assert.deepEqual(leftovers, []);
    }
  } finally {
    // npm run package built the production bundles; put the development build back for later suites.
    spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
