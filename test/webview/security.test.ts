/**
 * Everything from a trace is text. A trace whose strings are HTML/script/URL payloads, bidi
 * overrides, zero-width characters and a 1 MB line must render literally: no dialog, no new
 * elements, no link, no CSP violation, and the 1 MB line cut to something readable.
 * Also: the HTML shell's CSP and its escaping of embedded data.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { renderWebviewHtml, webviewCsp, makeNonce, jsonForScript } from '../../src/core/webview-html';
import { serve, launch, open, loadTrace, waitLoaded, screenshotPath, fitAll, type Served, type Opened } from './harness';
import type { Trace } from '../../src/shared/trace';

const IMG = '<img src=x onerror=alert(1)>';
const SCR = '</script><script>alert(1)</script>';
const JS = 'javascript:alert(1)';
const MB = 1024 * 1024;

function hostileTrace(): Trace {
  const t = loadTrace('hostile.shutdown-trace.json');
  // a 1 MB log line, itself hostile at the start
  t.output.push({ t: 80, pid: 6666, stream: 'stdout', text: (IMG + 'A'.repeat(MB)).slice(0, MB) });
  t.output.sort((a, b) => a.t - b.t);
  return t;
}

/** Tags the page may contain: what the app builds, never anything a string could smuggle in. */
const ALLOWED = new Set([
  'HTML',
  'HEAD',
  'META',
  'TITLE',
  'LINK',
  'BODY',
  'SCRIPT',
  'DIV',
  'SPAN',
  'BUTTON',
  'P',
  'H1',
  'H2',
  'H3',
  'UL',
  'OL',
  'LI',
  'DL',
  'DT',
  'DD',
  'PRE',
  'CODE',
  'SECTION',
  'HEADER',
  'ASIDE',
  'CANVAS',
]);

async function census(page: Page): Promise<{ tags: Record<string, number>; scripts: number; links: number; noNonce: number; inlineHandlers: number }> {
  return page.evaluate(() => {
    const tags: Record<string, number> = {};
    let inlineHandlers = 0;
    for (const e of Array.from(document.querySelectorAll('*'))) {
      tags[e.tagName] = (tags[e.tagName] ?? 0) + 1;
      for (const a of e.getAttributeNames()) if (a.startsWith('on')) inlineHandlers++;
    }
    return {
      tags,
      scripts: document.scripts.length,
      links: document.querySelectorAll('a, area, [href]:not(link)').length,
      noNonce: document.querySelectorAll('script:not([nonce])').length,
      inlineHandlers,
    };
  });
}

describe('HTML shell', () => {
  it('has the strict CSP, nonce on every script, and escapes what it embeds', () => {
    const nonce = makeNonce();
    assert.match(nonce, /^[A-Za-z0-9_-]{32}$/);
    assert.notEqual(makeNonce(), nonce);
    const html = renderWebviewHtml({
      scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/webview.js',
      styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/webview.css',
      cspSource: 'https://*.vscode-cdn.net',
      nonce,
      title: `</title>${SCR}`,
      initial: { type: 'error', message: `${SCR}${IMG}\u2028<!--` },
    });
    const csp = `default-src 'none'; img-src https://*.vscode-cdn.net data:; style-src https://*.vscode-cdn.net; script-src 'nonce-${nonce}'; font-src https://*.vscode-cdn.net;`;
    assert.equal(webviewCsp('https://*.vscode-cdn.net', nonce), csp);
    assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="${csp.replace(/'/g, '&#39;')}">`), html);
    const scripts = html.match(/<script\b[^>]*>/g)!;
    assert.equal(scripts.length, 2);
    for (const s of scripts) assert.ok(s.includes(`nonce="${nonce}"`), s);
    // the payloads cannot close the data block or the title
    assert.equal(html.match(/<\/script>/g)!.length, 2);
    assert.ok(!html.includes('<img'));
    assert.ok(html.includes('<title>&lt;/title&gt;&lt;/script&gt;'));
    const data = html.match(/<script type="application\/json" id="shutdown-trace-initial" nonce="[^"]+">([^<]*)<\/script>/)![1];
    assert.deepEqual(JSON.parse(data), { type: 'error', message: `${SCR}${IMG}\u2028<!--` });
    assert.equal(jsonForScript('</script>'), '"\\u003c/script\\u003e"');
    assert.ok(!/style=/.test(html), 'no inline styles');
    assert.throws(() => renderWebviewHtml({ scriptUri: 'a', styleUri: 'b', cspSource: 'c', nonce: '"><script>' }), /nonce/);
    // standalone: connect-src for fetch/EventSource, nothing else added
    const sa = renderWebviewHtml({ scriptUri: '/webview.js', styleUri: '/webview.css', cspSource: "'self'", nonce, standalone: { traceUrl: '/trace.json' } });
    assert.ok(sa.includes(`connect-src &#39;self&#39;;`));
    assert.ok(sa.includes('data-trace-url="/trace.json"'));
  });
});

describe('hostile trace strings are shown as text', () => {
  let served: Served;
  let browser: Browser;
  let o: Opened;
  let page: Page;
  before(async () => {
    served = await serve({ initial: { type: 'trace', trace: hostileTrace(), live: false } });
    browser = await launch();
    o = await open(browser, served, { mode: 'host', theme: 'dark' });
    page = o.page;
    await waitLoaded(page);
  });
  after(async () => {
    await browser?.close();
    await served?.close();
  });

  it('creates no element, link or handler from trace data', async () => {
    const c = await census(page);
    for (const tag of Object.keys(c.tags)) assert.ok(ALLOWED.has(tag), `unexpected <${tag.toLowerCase()}>`);
    assert.equal(c.scripts, 2, 'the data block and the bundle');
    assert.equal(c.noNonce, 0);
    assert.equal(c.links, 0);
    assert.equal(c.inlineHandlers, 0);
    assert.equal(await page.locator('img, iframe, svg, object, embed, form, style').count(), 0);
  });

  it('shows the payloads literally in the verdict, findings, leaks and items', async () => {
    await fitAll(page);
    assert.equal(await page.textContent('[data-testid=verdict-full]'), `${IMG} verdict ${SCR}`);
    const finding = (await page.textContent('[data-testid=finding]'))!;
    assert.ok(finding.includes('<b onmouseover=alert(1)>hover</b>'), finding);
    assert.ok(finding.includes(`${JS} invoice<U+202E>txt.exe`), 'the RTL override is shown, not obeyed: ' + finding);
    const leak = (await page.textContent('[data-testid=leak]'))!;
    assert.ok(leak.includes(IMG), leak);
    assert.ok(leak.includes(`src/${IMG}.js:7:1`), leak);
    const items = await page.$$eval('[data-testid=tl-item]', (els) => els.map((e) => `${(e as HTMLElement).dataset.kind}:${e.textContent}`));
    assert.ok(items.includes(`log:stdout: ${IMG}`), items.join('\n'));
    assert.ok(items.includes(`log:stdout: ${SCR}`), items.join('\n'));
    assert.ok(items.includes(`log:stdout: ${JS}`));
    assert.ok(items.includes('log:stderr: invoice<U+202E>txt.exe'));
    assert.ok(items.includes('log:stdout: ad<U+200B>min<U+200D><U+FEFF>'), 'zero-width characters are made visible');
    assert.ok(items.includes(`phase:${SCR} 30 ms`) || items.includes(`phase:${SCR} 29.6 ms`), items.join('\n'));
    assert.ok(items.includes('listener:invoice<U+202E>txt.exe (SIGTERM) 30 ms'), items.join('\n'));
    assert.ok(items.includes(`error:uncaughtException: <iframe src=${JS}>`), items.join('\n'));
    assert.ok(items.includes(`request:GET /${SCR} 200 5 ms`), items.join('\n'));
    // the 1 MB line: cut to a readable item
    const big = items.find((t) => t.startsWith(`log:stdout: ${IMG}AAAA`))!;
    assert.ok(big, 'the 1 MB line is listed');
    assert.ok(big.length < 200, `cut: ${big.length} chars`);
    assert.ok(/… \(\+1,048,\d{3} chars\)$/.test(big), big.slice(-40));
  });

  it('details: frames as text buttons (never links), the 1 MB line truncated with a note', async () => {
    await page.click('[data-testid=tl-item][data-kind=leak]');
    await page.locator('[data-testid=details] [data-testid=frame]').first().waitFor();
    const frames = await page.$$eval('[data-testid=details] [data-testid=frame]', (els) => els.map((e) => [e.tagName, e.textContent]));
    assert.deepEqual(frames, [
      ['BUTTON', `src/${IMG}.js:7:1`],
      ['BUTTON', `${JS}//evil.js:2:2`],
    ]);
    const statics = await page.$$eval('[data-testid=details] .st-frame-static', (els) => els.map((e) => e.textContent));
    assert.deepEqual(statics, [`${JS}:1:1`], 'a javascript: "file" is not even clickable');
    const details = (await page.textContent('[data-testid=details]'))!;
    assert.ok(details.includes(SCR), 'function names and details are text');
    const url = page.url();
    await page.click(`[data-testid=frame] >> text=${JS}//evil.js:2:2`);
    assert.equal(page.url(), url, 'no navigation');
    const posted = (await o.posted()).filter((m) => m.type === 'open-frame');
    assert.deepEqual(posted.pop(), { type: 'open-frame', file: `${JS}//evil.js`, line: 2, col: 2 });

    // the 1 MB line in the details
    await page.click('[data-testid=fit]');
    await page.waitForTimeout(150);
    const box = (await page.locator('[data-testid=tl-item][data-kind=log] >> text=/^stdout: <img src=x onerror=alert\\(1\\)>AAAA/').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const tip = page.locator('.st-tooltip');
    await tip.waitFor({ state: 'visible' });
    const tipText = (await tip.textContent())!;
    assert.ok(tipText.length < 1200, `tooltip cut: ${tipText.length}`);
    assert.ok(tipText.includes(IMG));
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.locator('[data-testid=details] .st-pre').waitFor();
    const pre = (await page.textContent('[data-testid=details] .st-pre'))!;
    assert.ok(pre.startsWith(IMG + 'AAAA'));
    assert.ok(pre.length > 20_000 && pre.length < 20_100, `pre length ${pre.length}`);
    assert.match((await page.textContent('[data-testid=details]'))!, /Showing the first 20,000 of 1,048,576 characters\./);
    await page.mouse.move(5, 5);
    await page.screenshot({ path: screenshotPath('webview-hostile-dark.png') });
  });

  it('after all that: no dialog, no new element, no CSP violation, no page error', async () => {
    await page.waitForTimeout(200);
    const c = await census(page);
    for (const tag of Object.keys(c.tags)) assert.ok(ALLOWED.has(tag), `unexpected <${tag.toLowerCase()}>`);
    assert.equal(c.links, 0);
    assert.equal(c.inlineHandlers, 0);
    assert.deepEqual(o.dialogs, []);
    assert.deepEqual(o.cspViolations, []);
    assert.deepEqual(o.problems, []);
  });

  it('an error message with markup is shown as text too', async () => {
    await o.send({ type: 'error', message: `${IMG}${SCR}` });
    await page.locator('[data-testid=error]').waitFor();
    assert.equal(await page.textContent('[data-testid=error] .st-error-text'), `${IMG}${SCR}`);
    assert.equal(await page.locator('[data-testid=error] img, [data-testid=error] script').count(), 0);
    assert.deepEqual(o.dialogs, []);
  });
});
