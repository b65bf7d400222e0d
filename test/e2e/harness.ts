/**
 * Real-VS-Code harness: code-server 4.100.3 (installed by scripts/setup-code-server.sh into
 * .cache/code-server) driven by Debian's chromium through playwright-core.
 *
 * Everything binds to 127.0.0.1, lives in one temp dir (user data, extensions, XDG dirs, the
 * workspace copy) and is removed by stop(). code-server runs in its own session/process group
 * (spawn detached = setsid) and stop() kills that group plus every descendant it saw.
 *
 * See test/e2e/README.md and shared/notes/real-vscode-on-this-machine.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type FrameLocator, type Page } from 'playwright-core';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const CODE_SERVER_ENTRY = path.join(REPO_ROOT, '.cache/code-server/node_modules/code-server/out/node/entry.js');
export const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
export const RESULTS_DIR = path.join(REPO_ROOT, 'test-results');
export const FIXTURE_WORKSPACE = path.join(__dirname, 'workspace');

export const THEMES = { light: 'Default Light Modern', dark: 'Default Dark Modern' } as const;

export interface StartOptions {
  /** Folder holding the extension's package.json (default: the repo root). */
  extensionPath?: string;
  /** Fixture folder copied to a temp workspace (default: test/e2e/workspace). */
  workspaceFixture?: string;
  /** Extra user settings merged over the defaults. */
  settings?: Record<string, unknown>;
  /** Workspace-relative file to make the active editor once the workbench is ready. */
  openFile?: string;
  /** Browser viewport (default 1400x900). */
  viewport?: { width: number; height: number };
  /** Log progress with timings to stderr (default: on unless E2E_QUIET=1). */
  verbose?: boolean;
}

/** Throws a clear error if code-server or chromium is missing. Tests call this first: no silent skip. */
export function assertInstalled(): void {
  if (!fs.existsSync(CODE_SERVER_ENTRY)) {
    throw new Error(
      `code-server is not installed (missing ${path.relative(REPO_ROOT, CODE_SERVER_ENTRY)}).\n` +
        `Run: bash scripts/setup-code-server.sh   (installs code-server@4.100.3 into .cache/code-server, ~60 s)`,
    );
  }
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}. Run: bash scripts/setup-code-server.sh (apt-get installs chromium)`);
  }
}

/** A port that nothing listens on, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    // A stale server still answering here would hide a failed start: make sure nothing answers.
    if (!(await portAnswers(port))) return port;
  }
  throw new Error('could not find a free port on 127.0.0.1');
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** All live descendants of pid (reads /proc). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${ent}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid ...  — comm may contain spaces/parens, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(ent));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const stack = [...(children.get(pid) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still "exists": treat it as dead.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A process group with a member that is not a zombie (a killed child waits a moment for init to reap it). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${ent}/stat`, 'latin1');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[2]) === pgid && rest[0] !== 'Z' && rest[0] !== 'X') return true;
    } catch {
      /* gone */
    }
  }
  return false;
}

/** Sessions still running when this process exits are killed synchronously. */
const live = new Set<CodeServer>();
process.once('exit', () => {
  for (const cs of live) cs.killNow();
});

export class CodeServer {
  readonly t0 = Date.now();
  readonly timings: { step: string; ms: number }[] = [];
  private proc?: ChildProcess;
  private seenPids = new Set<number>();
  private watchTimer?: NodeJS.Timeout;
  browser?: Browser;
  context?: BrowserContext;
  page!: Page;
  port = 0;
  readonly tmp: string;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  readonly workspace: string;
  readonly logFile: string;
  readonly consoleErrors: string[] = [];
  private stopped = false;

  private constructor(private readonly opts: StartOptions) {
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'st-e2e-'));
    this.userDataDir = path.join(this.tmp, 'user-data');
    this.extensionsDir = path.join(this.tmp, 'extensions');
    this.workspace = path.join(this.tmp, 'workspace');
    this.logFile = path.join(this.tmp, 'code-server.log');
  }

  /** Start code-server and a browser on the workspace; resolves when the extension host is ready. */
  static async start(opts: StartOptions = {}): Promise<CodeServer> {
    assertInstalled();
    const cs = new CodeServer(opts);
    live.add(cs);
    try {
      await cs.boot();
    } catch (err) {
      const tail = cs.logTail();
      await cs.stop().catch(() => {});
      if (tail) (err as Error).message += `\n--- code-server log (tail) ---\n${tail}`;
      throw err;
    }
    return cs;
  }

  log(msg: string): void {
    if (this.opts.verbose ?? process.env.E2E_QUIET !== '1') {
      process.stderr.write(`[e2e +${((Date.now() - this.t0) / 1000).toFixed(1)}s] ${msg}\n`);
    }
  }

  /** Record a timed step (ms since the previous mark). */
  mark(step: string): void {
    const total = Date.now() - this.t0;
    const prev = this.timings.reduce((a, t) => a + t.ms, 0);
    this.timings.push({ step, ms: total - prev });
    this.log(`${step} (${total - prev} ms)`);
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      XDG_CONFIG_HOME: path.join(this.tmp, 'xdg-config'),
      XDG_DATA_HOME: path.join(this.tmp, 'xdg-data'),
      XDG_CACHE_HOME: path.join(this.tmp, 'xdg-cache'),
      XDG_STATE_HOME: path.join(this.tmp, 'xdg-state'),
      // Keep code-server from reading a password or a proxy from the developer's environment.
      PASSWORD: undefined,
      HASHED_PASSWORD: undefined,
      VSCODE_PROXY_URI: undefined,
    };
  }

  private async boot(): Promise<void> {
    const extPath = path.resolve(this.opts.extensionPath ?? REPO_ROOT);
    const pkg = JSON.parse(fs.readFileSync(path.join(extPath, 'package.json'), 'utf8'));
    const fixture = this.opts.workspaceFixture ?? FIXTURE_WORKSPACE;

    for (const d of ['xdg-config', 'xdg-data', 'xdg-cache', 'xdg-state']) fs.mkdirSync(path.join(this.tmp, d));
    fs.mkdirSync(path.join(this.userDataDir, 'User'), { recursive: true });
    fs.mkdirSync(this.extensionsDir, { recursive: true });
    fs.cpSync(fixture, this.workspace, { recursive: true });
    fs.symlinkSync(extPath, path.join(this.extensionsDir, `${pkg.publisher}.${pkg.name}-${pkg.version}`), 'dir');
    this.writeSettings(this.opts.settings ?? {});

    this.port = await freePort();
    const config = path.join(this.tmp, 'config.yaml');
    fs.writeFileSync(config, `bind-addr: 127.0.0.1:${this.port}\nauth: none\ncert: false\n`);
    const args = [
      CODE_SERVER_ENTRY,
      '--config',
      config,
      '--bind-addr',
      `127.0.0.1:${this.port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--user-data-dir',
      this.userDataDir,
      '--extensions-dir',
      this.extensionsDir,
      this.workspace,
    ];
    const out = fs.openSync(this.logFile, 'a');
    // detached: the child calls setsid(), so it leads its own process group and we can kill it whole.
    this.proc = spawn(process.execPath, args, { cwd: this.tmp, env: this.env(), detached: true, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    this.proc.unref();
    const exited = new Promise<never>((_, reject) => this.proc!.once('exit', (code, sig) => reject(new Error(`code-server exited early (code ${code}, signal ${sig})`))));
    exited.catch(() => {});
    this.watchTimer = setInterval(() => this.rememberPids(), 250);
    this.watchTimer.unref();
    this.log(`code-server pid ${this.proc.pid} on 127.0.0.1:${this.port}, temp ${this.tmp}`);

    await Promise.race([this.waitHealthz(20_000), exited]);
    this.mark('code-server /healthz ok');

    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
      env: this.env() as Record<string, string>,
    });
    this.context = await this.browser.newContext({ viewport: this.opts.viewport ?? { width: 1400, height: 900 } });
    // The extension's webview may be asked to copy to the clipboard: grant it quietly.
    await this.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: this.url('') }).catch(() => {});
    this.page = await this.context.newPage();
    this.page.on('console', (m) => {
      if (m.type() === 'error') this.consoleErrors.push(m.text());
    });
    this.page.on('pageerror', (e) => this.consoleErrors.push(String(e)));
    this.mark('browser launched');

    await this.page.goto(this.url(`/?folder=${encodeURIComponent(this.workspace)}`), { waitUntil: 'domcontentloaded' });
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 30_000 });
    this.mark('workbench visible');
    await Promise.race([this.waitExtHost(40_000), exited]);
    this.mark('extension host ready (Eager extensions activated)');

    if (this.opts.openFile) {
      await this.openFile(this.opts.openFile);
      this.mark(`opened ${this.opts.openFile}`);
    }
  }

  url(p: string): string {
    return `http://127.0.0.1:${this.port}${p}`;
  }

  /** Write the user settings (the defaults from the note, merged with extra). VS Code reloads them live. */
  writeSettings(extra: Record<string, unknown>): void {
    const settings = {
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.enableExperiments': false,
      'workbench.colorTheme': THEMES.dark,
      'telemetry.telemetryLevel': 'off',
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'extensions.ignoreRecommendations': true,
      'update.mode': 'none',
      'git.enabled': false,
      'security.workspace.trust.enabled': false,
      'chat.commandCenter.enabled': false,
      'window.commandCenter': false,
      ...extra,
    };
    fs.writeFileSync(path.join(this.userDataDir, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
    this.currentSettings = settings;
  }
  private currentSettings: Record<string, unknown> = {};

  /**
   * Switch the colour theme (`workbench.colorTheme`) the way a user does: "Preferences: Color Theme"
   * in the palette, then pick the theme. (Rewriting User/settings.json on disk is not picked up
   * live by code-server here.) Waits until the workbench shows it.
   */
  async setTheme(kind: keyof typeof THEMES): Promise<void> {
    const cls = kind === 'light' ? 'vs' : 'vs-dark';
    const isOn = () => this.page.evaluate((c) => document.querySelector('.monaco-workbench')?.classList.contains(c) ?? false, cls);
    if (await isOn()) return;
    await this.runCommand('Preferences: Color Theme');
    const input = this.quickInput();
    await input.waitFor({ state: 'visible', timeout: 5_000 });
    // Rows read e.g. label "Light Modern", aria-label "Light Modern, Default Light Modern".
    await input.fill(THEMES[kind].replace(/^Default /, ''));
    const row = this.page.locator(`.quick-input-widget .monaco-list-row[aria-label$=", ${THEMES[kind]}"]`).first();
    await row.waitFor({ state: 'visible', timeout: 5_000 });
    await row.click();
    await this.page.waitForFunction((c) => document.querySelector('.monaco-workbench')?.classList.contains(c) ?? false, cls, { timeout: 10_000 });
    this.currentSettings = { ...this.currentSettings, 'workbench.colorTheme': THEMES[kind] };
    await sleep(500); // let webviews repaint with the new theme variables
  }

  private async waitHealthz(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(this.url('/healthz'));
        if (res.ok) return;
      } catch {
        /* not up yet */
      }
      await sleep(100);
    }
    throw new Error(`code-server did not answer /healthz on 127.0.0.1:${this.port} within ${timeoutMs} ms`);
  }

  /** The extension host log(s) of this session. */
  extHostLogs(): string[] {
    const logs = path.join(this.userDataDir, 'logs');
    if (!fs.existsSync(logs)) return [];
    const found: string[] = [];
    for (const stamp of fs.readdirSync(logs)) {
      const dir = path.join(logs, stamp);
      for (const host of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
        const f = path.join(dir, host, 'remoteexthost.log');
        if (host.startsWith('exthost') && fs.existsSync(f)) found.push(f);
      }
    }
    return found;
  }

  extHostLog(): string {
    return this.extHostLogs()
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('\n');
  }

  private async waitExtHost(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.extHostLog().includes('Eager extensions activated')) return;
      await sleep(150);
    }
    throw new Error(`extension host not ready within ${timeoutMs} ms (no "Eager extensions activated" in ${this.userDataDir}/logs/*/exthost*/remoteexthost.log)`);
  }

  private quickInput() {
    return this.page.locator('.quick-input-widget .quick-input-box input');
  }

  /** Run a command-palette command by its full title, e.g. "Shutdown Trace: Run with shutdown trace". */
  async runCommand(title: string): Promise<void> {
    const input = this.quickInput();
    let lastErr: unknown;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (attempt > 0) {
        this.log(`palette missed "${title}", retrying`);
        await this.page.keyboard.press('Escape');
        await sleep(500);
      }
      await this.page.keyboard.press('F1');
      try {
        await input.waitFor({ state: 'visible', timeout: 5_000 });
        await input.fill(`>${title}`);
        const row = this.page
          .locator('.quick-input-widget .monaco-list-row')
          .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRe(title)}$`) }) })
          .first();
        await row.waitFor({ state: 'visible', timeout: 5_000 });
        await row.click();
        return;
      } catch (err) {
        lastErr = err;
      }
    }
    throw new Error(`command "${title}" not found in the command palette: ${(lastErr as Error)?.message ?? lastErr}`);
  }

  /** Make a workspace file the active editor (Quick Open). */
  async openFile(rel: string): Promise<void> {
    const input = this.quickInput();
    const base = path.basename(rel);
    for (let attempt = 0; attempt < 2; attempt++) {
      await this.page.keyboard.press('Escape');
      await this.page.keyboard.press('Control+P');
      try {
        await input.waitFor({ state: 'visible', timeout: 5_000 });
        await input.fill(rel);
        const row = this.page.locator('.quick-input-widget .monaco-list-row', { hasText: base }).first();
        await row.waitFor({ state: 'visible', timeout: 5_000 });
        await this.page.keyboard.press('Enter');
        await this.activeTab(base).waitFor({ timeout: 10_000 });
        return;
      } catch (err) {
        if (attempt === 1) throw new Error(`could not open ${rel}: ${(err as Error).message}`);
      }
    }
  }

  /** The active editor tab (optionally with this label). */
  activeTab(label?: string) {
    const tab = this.page.locator('.tabs-container .tab.active');
    return label ? tab.filter({ has: this.page.locator('.label-name', { hasText: label }) }) : tab;
  }

  async activeTabLabel(): Promise<string> {
    return (await this.page.locator('.editor-group-container.active .tabs-container .tab.active .label-name').first().textContent())?.trim() ?? '';
  }

  /** Cursor position from the status bar ("Ln 12, Col 3"). */
  async cursor(): Promise<{ line: number; col: number } | undefined> {
    const item = this.page.locator('#status\\.editor\\.selection');
    if ((await item.count()) === 0) return undefined; // no text editor is active
    const text = await item
      .first()
      .textContent({ timeout: 2_000 })
      .catch(() => null);
    const m = /Ln (\d+), Col (\d+)/.exec(text ?? '');
    return m ? { line: Number(m[1]), col: Number(m[2]) } : undefined;
  }

  /** The rows of the Problems panel (opened and focused first): file rows and problem rows, as text. */
  async problemRows(): Promise<string[]> {
    await this.runCommand('Problems: Focus on Problems View');
    await this.page.locator('.markers-panel').first().waitFor({ state: 'visible', timeout: 5_000 });
    await sleep(300);
    return (await this.page.locator('.markers-panel .monaco-list-row').allTextContents()).map((t) => t.trim());
  }

  /**
   * The CodeLens texts of the active editor, each with the 1-based line it sits above, once two
   * readings 250 ms apart agree: a lens that has just appeared sits in a view zone still being laid
   * out, and its position against the line numbers is not yet its line.
   */
  async codeLenses(): Promise<{ text: string; line: number }[]> {
    let last = JSON.stringify(await this.readCodeLenses());
    for (let i = 0; i < 12; i++) {
      await sleep(250);
      const now = await this.readCodeLenses();
      if (JSON.stringify(now) === last) return now;
      last = JSON.stringify(now);
    }
    return JSON.parse(last) as { text: string; line: number }[];
  }

  private async readCodeLenses(): Promise<{ text: string; line: number }[]> {
    return this.page.evaluate(() => {
      const editor = document.querySelector('.editor-group-container.active .monaco-editor') ?? document.querySelector('.monaco-editor');
      if (!editor) return [];
      const numbers = Array.from(editor.querySelectorAll<HTMLElement>('.margin-view-overlays .line-numbers')).map((n) => ({ top: n.getBoundingClientRect().top, n: Number(n.textContent) }));
      return Array.from(editor.querySelectorAll<HTMLElement>('.codelens-decoration')).map((d) => {
        const top = d.getBoundingClientRect().top;
        // the lens sits in a view zone just above its line: the first numbered line below it
        const below = numbers.filter((x) => x.top > top).sort((a, b) => a.top - b.top)[0];
        return { text: (d.textContent ?? '').replace(/\s+/g, ' ').trim(), line: below ? below.n : -1 };
      });
    });
  }

  /** The DOM inside the visible webview: two iframes deep. */
  webviewFrame(index = 0): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready:visible').nth(index).frameLocator('#active-frame');
  }

  /**
   * Answer the simple (quick-input) file dialog code-server shows for showSaveDialog/showOpenDialog:
   * wait until it has replaced the palette (its input then holds a path), type the absolute path,
   * press Enter.
   */
  async answerFileDialog(absPath: string): Promise<void> {
    const input = this.quickInput();
    await this.page.waitForFunction(
      () => {
        const el = document.querySelector<HTMLInputElement>('.quick-input-widget .quick-input-box input');
        return !!el && el.offsetParent !== null && el.value.startsWith('/');
      },
      undefined,
      { timeout: 10_000 },
    );
    await sleep(300); // the dialog fills in its default path and list asynchronously
    await input.fill(absPath);
    await this.page.waitForFunction((p) => document.querySelector<HTMLInputElement>('.quick-input-widget .quick-input-box input')?.value === p, absPath, { timeout: 5_000 });
    await sleep(300); // it validates the typed path asynchronously
    await this.page.keyboard.press('Enter');
  }

  /** Full-page screenshot to test-results/<name>.png; returns the path. */
  async screenshot(name: string): Promise<string> {
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const file = path.join(RESULTS_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
    await this.page.screenshot({ path: file });
    this.log(`screenshot ${path.relative(REPO_ROOT, file)}`);
    return file;
  }

  logTail(lines = 40): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  private rememberPids(): void {
    if (this.proc?.pid) for (const p of descendants(this.proc.pid)) this.seenPids.add(p);
  }

  /** Synchronous last-resort kill (process exit). */
  killNow(): void {
    const pid = this.proc?.pid;
    if (!pid) return;
    this.rememberPids();
    for (const p of [...this.seenPids]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }

  /**
   * Close the browser, stop code-server's process group (and any descendant that left the group,
   * e.g. a traced service started detached), remove the temp dir. Returns the pids that had to be
   * SIGKILLed or that survived (empty when the shutdown was clean).
   */
  async stop(opts: { keepTemp?: boolean } = {}): Promise<{ leftovers: number[] }> {
    if (this.stopped) return { leftovers: [] };
    this.stopped = true;
    const leftovers: number[] = [];
    if (this.browser) {
      const closed = this.browser.close().then(
        () => true,
        () => true,
      );
      if (!(await Promise.race([closed, sleep(10_000).then(() => false)]))) this.log('browser did not close within 10 s');
    }
    this.mark('browser closed');
    const pid = this.proc?.pid;
    if (pid) {
      this.rememberPids();
      if (this.watchTimer) clearInterval(this.watchTimer);
      const pids = [...this.seenPids];
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      for (const p of pids) {
        try {
          process.kill(p, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      // code-server's TypeScript server and file watcher can take several seconds to wind down.
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && (groupAlive(pid) || pids.some(alive))) await sleep(100);
      for (const p of pids.filter(alive)) {
        leftovers.push(p);
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      if (groupAlive(pid)) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      const reaped = Date.now() + 3_000;
      while (Date.now() < reaped && groupAlive(pid)) await sleep(100);
      if (groupAlive(pid)) leftovers.push(-pid);
      this.log(`process group ${pid}: ${pids.length} descendants seen, SIGKILLed ${JSON.stringify(leftovers)}`);
    }
    live.delete(this);
    this.mark('stopped');
    if (!opts.keepTemp && process.env.E2E_KEEP !== '1') fs.rmSync(this.tmp, { recursive: true, force: true });
    else this.log(`kept ${this.tmp}`);
    return { leftovers };
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
