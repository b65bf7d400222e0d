/**
 * End-to-end in a real VS Code (code-server 4.100.3 + headless Chromium), against docs/ui-contract.md.
 *
 *   bash scripts/setup-code-server.sh && npm run build && node --import tsx --test test/e2e/code-server.test.ts
 *
 * Fails (never skips) when code-server or the build is missing. Screenshots go to test-results/.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CodeServer, FIXTURE_WORKSPACE, REPO_ROOT, assertInstalled } from './harness';

const RUN = 'Shutdown Trace: Run with shutdown trace';
const EXPORT = 'Shutdown Trace: Export trace…';

/** The line of the leaked setInterval in the fixture (1-based). */
const LEAK_LINE =
  fs
    .readFileSync(path.join(FIXTURE_WORKSPACE, 'server.js'), 'utf8')
    .split('\n')
    .findIndex((l) => l.includes('setInterval(')) + 1;

/** Live processes running the fixture's server.js from this workspace (the traced service). */
function servicePids(workspace: string): number[] {
  const out: number[] = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${ent}/cmdline`, 'utf8').split('\0');
      if (!cmd.some((a) => a === 'server.js' || a === path.join(workspace, 'server.js'))) continue;
      if (fs.readlinkSync(`/proc/${ent}/cwd`).startsWith(workspace) || cmd.includes(path.join(workspace, 'server.js'))) {
        out.push(Number(ent));
      }
    } catch {
      /* gone or not ours */
    }
  }
  return out;
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

test('Shutdown Trace in a real VS Code (code-server)', { timeout: 240_000 }, async (t) => {
  assertInstalled();
  for (const f of ['dist/extension.js', 'dist/preload.js', 'media/webview.js']) {
    assert.ok(fs.existsSync(path.join(REPO_ROOT, f)), `${f} is missing: run \`npm run build\` before the e2e test`);
  }
  assert.ok(LEAK_LINE > 0, 'fixture server.js has no setInterval line');

  const cs = await CodeServer.start({ openFile: 'server.js' });
  let failed = false;
  const passed = new Set<string>();
  /** A subtest; `needs` names an earlier step it depends on (skipped, with the reason, if that failed). */
  const step = async (name: string, fn: () => Promise<void>, needs?: string) => {
    const skip = needs && !passed.has(needs) ? `needs "${needs}", which failed` : undefined;
    await t.test(name, { skip }, async () => {
      try {
        await fn();
        passed.add(name);
        cs.mark(name);
      } catch (err) {
        failed = true;
        await cs.screenshot(`e2e-FAILED-${name}`).catch(() => {});
        throw err;
      }
    });
  };
  const RUN_STEP = 'run from the command palette; timeline shows signal, phases and the leak';
  const wv = () => cs.webviewFrame();

  try {
    await step('server.js is the active editor', async () => {
      assert.equal(await cs.activeTabLabel(), 'server.js');
    });

    await step(RUN_STEP, async () => {
      await cs.runCommand(RUN);
      await wv().locator('[data-testid=timeline]').waitFor({ timeout: 20_000 });
      await wv().locator('[data-testid=tl-item][data-kind=signal]', { hasText: 'SIGTERM' }).first().waitFor({ timeout: 20_000 });
      // The run ends at the latest when the 3 s grace period (workspace setting) runs out.
      const leak = wv().locator('[data-testid=leak]', { hasText: `server.js:${LEAK_LINE}` }).first();
      await leak.waitFor({ timeout: 30_000 });
      assert.ok((await wv().locator('[data-testid=tl-item][data-kind=phase]').count()) > 0, 'no [data-testid=tl-item][data-kind=phase] on the timeline');
      const verdict = (await wv().locator('[data-testid=verdict]').first().textContent())?.trim();
      assert.ok(verdict, 'empty [data-testid=verdict]');
      cs.log(`verdict: ${verdict}`);
      cs.log(`leak: ${(await leak.textContent())?.trim()}`);
    });

    await step('the traced service is gone after the run', async () => {
      await until('the traced server.js to exit', () => servicePids(cs.workspace).length === 0 || undefined, 10_000);
    });

    await step('screenshots, dark and light theme', async () => {
      await cs.setTheme('dark');
      await cs.screenshot('e2e-timeline-dark');
      assert.ok(await wv().locator('body.vscode-dark').count(), 'webview body did not get the vscode-dark class');
      await cs.setTheme('light');
      await wv().locator('body.vscode-light').waitFor({ timeout: 5_000 });
      await cs.screenshot('e2e-timeline-light');
      await cs.setTheme('dark');
    });

    await step(`selecting the leak and clicking its frame opens server.js at line ${LEAK_LINE}`, async () => {
      await wv().locator('[data-testid=leak]', { hasText: `server.js:${LEAK_LINE}` }).first().click();
      const frame = wv().locator('[data-testid=details] [data-testid=frame]', { hasText: `server.js:${LEAK_LINE}` }).first();
      await frame.waitFor({ timeout: 10_000 });
      const site = /server\.js:(\d+):(\d+)/.exec((await frame.textContent()) ?? '');
      assert.ok(site, `[data-testid=frame] text is not file:line:col: ${await frame.textContent()}`);
      const col = Number(site[2]);
      await cs.screenshot('e2e-leak-selected');
      await frame.click();
      await until('server.js to be the active editor', async () => ((await cs.activeTabLabel()) === 'server.js' ? true : undefined));
      const pos = await until('the cursor on the leak line', async () => {
        const c = await cs.cursor();
        return c?.line === LEAK_LINE ? c : undefined;
      });
      assert.deepEqual(pos, { line: LEAK_LINE, col }, 'cursor (status bar "Ln N, Col M") is not at the frame\'s line:col');
      await cs.screenshot('e2e-frame-opened');
    }, RUN_STEP);

    await step('Export trace… writes a .shutdown-trace.json file', async () => {
      const out = path.join(cs.tmp, 'exported.shutdown-trace.json');
      await cs.runCommand(EXPORT);
      await cs.answerFileDialog(out);
      await until(`${out} to be written`, () => fs.existsSync(out) && fs.statSync(out).size > 0 || undefined);
      await new Promise((r) => setTimeout(r, 200)); // let the write finish
      const data = JSON.parse(fs.readFileSync(out, 'utf8'));
      assert.equal(data.format, 'shutdown-trace');
      fs.mkdirSync(path.join(REPO_ROOT, 'test-results'), { recursive: true });
      fs.copyFileSync(out, path.join(REPO_ROOT, 'test-results', 'e2e-exported.shutdown-trace.json'));
    });
  } finally {
    if (failed) {
      const errors = cs.consoleErrors.filter((e) => !/vsda|ENOTFOUND|Failed to load resource/.test(e));
      if (errors.length) process.stderr.write(`browser console errors:\n  ${errors.slice(-20).join('\n  ')}\n`);
      const exthost = cs.extHostLog().split('\n').filter((l) => /error|shutdown-trace/i.test(l));
      if (exthost.length) process.stderr.write(`extension host log (errors, shutdown-trace):\n  ${exthost.slice(-30).join('\n  ')}\n`);
    }
    const { leftovers } = await cs.stop({ keepTemp: failed && process.env.CI !== 'true' });
    process.stderr.write(`[e2e] timings: ${cs.timings.map((s) => `${s.step} ${s.ms} ms`).join('; ')}\n`);
    assert.deepEqual(leftovers, [], 'processes had to be SIGKILLed at stop (see pids)');
  }
});
