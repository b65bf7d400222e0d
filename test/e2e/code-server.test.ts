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
const SHOW = 'Shutdown Trace: Show timeline';

/** The line of `process.on('SIGTERM', …)` in the fixture (1-based): the CodeLens sits above it. */
const HANDLER_LINE =
  fs
    .readFileSync(path.join(FIXTURE_WORKSPACE, 'server.js'), 'utf8')
    .split('\n')
    .findIndex((l) => l.includes("process.on('SIGTERM'")) + 1;
/** The diagnostic's message for the leaked interval (the grace period is 3 s in the workspace settings). */
const LEAK_MESSAGE = /^Leaked setInterval 1000 ms, alive \d+(\.\d+)? s: kept the process alive 3(\.\d)? s past SIGTERM; SIGKILLed at the deadline\. Fix: clearInterval\(\) it on shutdown\./;

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
  const PROBLEM_STEP = `after the run, the leak is a problem at server.js line ${LEAK_LINE} with its message`;
  const wv = () => cs.webviewFrame();

  try {
    await step('server.js is the active editor', async () => {
      assert.equal(await cs.activeTabLabel(), 'server.js');
    });

    await step('the walkthrough is listed', async () => {
      await cs.runCommand('Welcome: Open Walkthrough...');
      const row = cs.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Get started with Shutdown Trace' });
      await row.first().waitFor({ timeout: 10_000 });
      await cs.page.keyboard.press('Escape');
    });

    await step(`a CodeLens above the SIGTERM handler (line ${HANDLER_LINE}) offers the run`, async () => {
      const lenses = await until(
        'a CodeLens in server.js',
        async () => {
          const l = await cs.codeLenses();
          return l.length ? l : undefined;
        },
        20_000,
      );
      assert.deepEqual(lenses, [{ text: 'Run with shutdown trace', line: HANDLER_LINE }]);
    });

    await step('Show timeline before any run: a guide, not an error', async () => {
      await cs.runCommand(SHOW);
      const empty = wv().locator('[data-testid=empty]');
      await empty.waitFor({ timeout: 15_000 });
      const text = (await empty.textContent()) ?? '';
      assert.match(text, /Nothing traced yet/);
      assert.match(text, /Run server\.js/, 'the empty state offers to run the open file');
      const toasts = await cs.page.locator('.notifications-toasts .notification-toast').allTextContents();
      assert.deepEqual(
        toasts.filter((t) => /Shutdown Trace/.test(t)),
        [],
        'no error notification',
      );
    });

    await step(RUN_STEP, async () => {
      // The timeline has the focus now: the command runs the file visible beside it.
      await cs.runCommand(RUN);
      await wv().locator('[data-testid=timeline]').waitFor({ timeout: 20_000 });
      await wv().locator('[data-testid=tl-item][data-kind=signal]', { hasText: 'SIGTERM' }).first().waitFor({ timeout: 20_000 });
      // The run ends at the latest when the 3 s grace period (workspace setting) runs out.
      const leak = wv()
        .locator('[data-testid=leak]', { hasText: `server.js:${LEAK_LINE}` })
        .first();
      await leak.waitFor({ timeout: 30_000 });
      assert.ok((await wv().locator('[data-testid=tl-item][data-kind=phase]').count()) > 0, 'no [data-testid=tl-item][data-kind=phase] on the timeline');
      const verdict = (await wv().locator('[data-testid=verdict]').first().textContent())?.trim();
      assert.equal(verdict, 'Killed at the 3 s deadline: 1 leak kept it alive');
      cs.log(`verdict: ${verdict}`);
      cs.log(`leak: ${(await leak.textContent())?.trim()}`);
    });

    await step('the traced service is gone after the run', async () => {
      await until('the traced server.js to exit', () => servicePids(cs.workspace).length === 0 || undefined, 10_000);
    });

    await step(
      PROBLEM_STEP,
      async () => {
        const rows = await until('the leak in the Problems panel', async () => {
          const r = await cs.problemRows();
          return r.some((t) => LEAK_MESSAGE.test(t)) ? r : undefined;
        });
        const leak = rows.find((t) => LEAK_MESSAGE.test(t))!;
        cs.log(`problem: ${leak}`);
        // (the row reads "… Shutdown Trace(leak) [Ln 15, Col 24]"; the parentheses are drawn by CSS)
        assert.match(leak, new RegExp(`Shutdown Trace\\(?leak\\)?\\s*\\[Ln ${LEAK_LINE}, Col \\d+\\]$`), 'source, code and position');
        assert.equal(rows.filter((t) => /^Leaked /.test(t)).length, 1, 'one problem for the one leak');
        // related information: where the SIGTERM listener was added, and the run's trace
        assert.ok(
          rows.some((t) => t === `server.js[Ln ${HANDLER_LINE}, Col 9]:the SIGTERM listener that ran`),
          rows.join(' | '),
        );
        assert.ok(
          rows.some((t) => /\.shutdown-trace\.json\[Ln 1, Col 1\]:the trace of this run/.test(t)),
          rows.join(' | '),
        );
        // the squiggle at the line
        assert.ok((await cs.page.locator('.editor-group-container').first().locator('.squiggly-error').count()) > 0, 'an error squiggle in server.js');
        await cs.screenshot('e2e-problems');
      },
      RUN_STEP,
    );

    await step(
      'the CodeLens above the SIGTERM handler shows the last result',
      async () => {
        await cs.page.locator('.editor-group-container').first().locator('.view-line', { hasText: 'setInterval(' }).click();
        const lenses = await until('the result lens', async () => {
          const l = await cs.codeLenses();
          return l.some((x) => /killed/.test(x.text)) ? l : undefined;
        });
        assert.deepEqual(lenses, [{ text: 'Run with shutdown trace | killed at 3 s deadline: 1 leak', line: HANDLER_LINE }]);
      },
      RUN_STEP,
    );

    await step(
      'the quick fix "Show in Shutdown Trace timeline" selects the leak in the panel',
      async () => {
        await wv().locator('[data-testid=details]').waitFor({ state: 'hidden', timeout: 5_000 });
        // the cursor on the leak's line, in the editor (left group). A lens appearing above the
        // handler shifts the lines between finding the line and clicking it: click until the
        // status bar says the cursor is on that line.
        await until(`the cursor on line ${LEAK_LINE}`, async () => {
          await cs.page.locator('.editor-group-container').first().locator('.view-line', { hasText: 'setInterval(' }).click();
          return (await cs.cursor())?.line === LEAK_LINE ? true : undefined;
        });
        // The menu lists what the code action providers returned when it opened: one opened
        // before the diagnostics reached this line is closed and opened again.
        const fix = cs.page.locator('.action-widget .monaco-list-row', { hasText: 'Show in Shutdown Trace timeline' }).first();
        await until(
          'the quick fix menu listing "Show in Shutdown Trace timeline"',
          async () => {
            await cs.page.keyboard.press('Control+.');
            try {
              await fix.waitFor({ timeout: 3_000 });
              return true;
            } catch {
              await cs.page.keyboard.press('Escape');
              return undefined;
            }
          },
          20_000,
        );
        // the menu's pointer guard swallows clicks while it opens: choose it with the keyboard
        for (let k = 0; k < 8 && (await cs.page.locator('.action-widget .monaco-list-row.focused').getAttribute('aria-label')) !== 'Show in Shutdown Trace timeline'; k++) {
          await cs.page.keyboard.press('ArrowDown');
        }
        await cs.page.keyboard.press('Enter');
        const title = wv().locator('[data-testid=details] .st-details-title');
        await title.waitFor({ timeout: 10_000 });
        assert.match((await title.textContent()) ?? '', /^leaked: setInterval 1000 ms/);
        assert.equal(await wv().locator('[data-testid=leak].active').count(), 1, 'the leak row is marked');
        await wv().locator('body').press('Escape');
      },
      PROBLEM_STEP,
    );

    await step('screenshots, dark and light theme', async () => {
      await cs.setTheme('dark');
      await cs.screenshot('e2e-timeline-dark');
      assert.ok(await wv().locator('body.vscode-dark').count(), 'webview body did not get the vscode-dark class');
      await cs.setTheme('light');
      await wv().locator('body.vscode-light').waitFor({ timeout: 5_000 });
      await cs.screenshot('e2e-timeline-light');
      await cs.setTheme('dark');
    });

    await step(
      `selecting the leak and clicking its frame opens server.js at line ${LEAK_LINE}`,
      async () => {
        await wv()
          .locator('[data-testid=leak]', { hasText: `server.js:${LEAK_LINE}` })
          .first()
          .click();
        const frame = wv()
          .locator('[data-testid=details] [data-testid=frame]', { hasText: `server.js:${LEAK_LINE}` })
          .first();
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
      },
      RUN_STEP,
    );

    await step(
      'a second run of the fixed file replaces its problems and its lens',
      async () => {
        const file = path.join(cs.workspace, 'server.js');
        const fixed = fs.readFileSync(file, 'utf8').replace("server.close(() => console.log('server closed'));", "clearInterval(cacheRefresher);\n  server.close(() => console.log('server closed'));");
        assert.ok(fixed.includes('clearInterval(cacheRefresher)'), 'the fixture changed');
        fs.writeFileSync(file, fixed);
        // the editor reloads the file from disk
        await until(
          'the editor to show the fix',
          async () => ((await cs.page.locator('.editor-group-container').first().locator('.view-lines').textContent()) ?? '').includes('clearInterval(cacheRefresher)') || undefined,
        );
        await cs.page.locator('.editor-group-container').first().locator('.view-line', { hasText: 'setInterval(' }).click();
        await cs.runCommand(RUN);
        await until('the graceful verdict', async () => ((await wv().locator('[data-testid=verdict]').first().textContent()) ?? '').startsWith('Graceful in') || undefined, 30_000);
        const rows = await until('the leak to leave the Problems panel', async () => {
          const r = await cs.problemRows();
          return r.some((t) => /^Leaked /.test(t)) ? undefined : r;
        });
        assert.deepEqual(
          rows.filter((t) => /Shutdown Trace/.test(t)),
          [],
          `no Shutdown Trace problems are left: ${rows.join(' | ')}`,
        );
        // VS Code re-asks for lenses of a focused editor (a refresh that comes while it loses the
        // focus is dropped until it has it again), so the test looks at the editor as a user would.
        await cs.page.locator('.editor-group-container').first().locator('.view-line', { hasText: 'setInterval(' }).click();
        let seen: unknown;
        const lenses = await until('the new result lens', async () => {
          const l = await cs.codeLenses();
          seen = l;
          return l.some((x) => /graceful in/.test(x.text)) ? l : undefined;
        }).catch(async (e) => {
          cs.log(
            `lenses: ${JSON.stringify(seen)}; editors: ${JSON.stringify(await cs.page.locator('.editor-group-container').evaluateAll((els) => els.map((e) => [e.className, e.querySelectorAll('.codelens-decoration').length, e.querySelector('.tab.active')?.textContent])))}`,
          );
          throw e;
        });
        // Any duration as formatDuration writes it: "9.6 ms" when the fixed file exits that fast.
        assert.match(lenses[0].text, /^Run with shutdown trace \| graceful in \d+(\.\d+)? m?s$/);
      },
      RUN_STEP,
    );

    await step('Export trace… writes a .shutdown-trace.json file', async () => {
      const out = path.join(cs.tmp, 'exported.shutdown-trace.json');
      await cs.runCommand(EXPORT);
      await cs.answerFileDialog(out);
      await until(`${out} to be written`, () => (fs.existsSync(out) && fs.statSync(out).size > 0) || undefined);
      await new Promise((r) => setTimeout(r, 200)); // let the write finish
      const data = JSON.parse(fs.readFileSync(out, 'utf8'));
      assert.equal(data.format, 'shutdown-trace');
      fs.mkdirSync(path.join(REPO_ROOT, 'test-results'), { recursive: true });
      fs.copyFileSync(out, path.join(REPO_ROOT, 'test-results', 'e2e-exported.shutdown-trace.json'));
    });
    await step("the walkthrough's example runs: phases, the leak and its problem; README screenshots, dark and light", async () => {
      await cs.runCommand('Shutdown Trace: Run the example with shutdown trace');
      await until('the example to be the active editor', async () => ((await cs.activeTabLabel()) === 'shutdown-trace-example.js' ? true : undefined));
      await until(
        "the example's verdict",
        async () => ((await wv().locator('[data-testid=verdict]').first().textContent()) ?? '') === 'Killed at the 3 s deadline: 1 leak kept it alive' || undefined,
        30_000,
      );
      assert.match((await wv().locator('[data-testid=leak]').first().textContent()) ?? '', /setInterval 1000 ms.*shutdown-trace-example\.js:13:17/);
      const phases = await wv().locator('[data-testid=tl-item][data-kind=phase]').allTextContents();
      for (const name of ['graceful shutdown', 'close http server', 'flush logs'])
        assert.ok(
          phases.some((p) => p.startsWith(name)),
          `phase ${name} in ${phases.join(' | ')}`,
        );
      const rows = await until("the example's leak in the Problems panel", async () => {
        const r = await cs.problemRows();
        return r.some((t) => /^Leaked setInterval 1000 ms.*\[Ln 13, Col 17\]$/.test(t)) ? r : undefined;
      });
      void rows;
      // the default layout: the editor with its lens and squiggle, the timeline beside it, the problems below
      await cs.runCommand('Notifications: Clear All Notifications');
      // focus the editor at the start of a line (a click in the middle of a long line scrolls it sideways)
      await cs.page
        .locator('.editor-group-container')
        .first()
        .locator('.view-line', { hasText: 'setInterval(' })
        .click({ position: { x: 2, y: 5 } });
      await cs.page.keyboard.press('Control+Home');
      await cs.page.mouse.move(700, 880);
      await until("the example's result lens", async () => ((await cs.codeLenses()).some((l) => /killed at 3 s deadline/.test(l.text)) ? true : undefined));
      await cs.setTheme('dark');
      await cs.screenshot('readme-dark');
      await cs.setTheme('light');
      await wv().locator('body.vscode-light').waitFor({ timeout: 5_000 });
      await cs.page.mouse.move(700, 880);
      await cs.screenshot('readme-light');
      await cs.setTheme('dark');
    });
  } finally {
    if (failed) {
      const errors = cs.consoleErrors.filter((e) => !/vsda|ENOTFOUND|Failed to load resource/.test(e));
      if (errors.length) process.stderr.write(`browser console errors:\n  ${errors.slice(-20).join('\n  ')}\n`);
      const exthost = cs
        .extHostLog()
        .split('\n')
        .filter((l) => /error|shutdown-trace/i.test(l));
      if (exthost.length) process.stderr.write(`extension host log (errors, shutdown-trace):\n  ${exthost.slice(-30).join('\n  ')}\n`);
    }
    const { leftovers } = await cs.stop({ keepTemp: failed && process.env.CI !== 'true' });
    process.stderr.write(`[e2e] timings: ${cs.timings.map((s) => `${s.step} ${s.ms} ms`).join('; ')}\n`);
    assert.deepEqual(leftovers, [], 'processes had to be SIGKILLed at stop (see pids)');
  }
});
