/**
 * `shutdown-trace view <trace>`: serves the same webview bundle the extension uses, on
 * 127.0.0.1, for people without VS Code and for traces attached to bug reports.
 * The page fetches /trace.json; the CSP is the webview's own (nonce'd script, no remote
 * resources). Serves only these fixed paths, never files by name.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import * as crypto from 'crypto';
import type { Trace } from '../shared/trace';
import { renderWebviewHtml, makeNonce, webviewCsp } from '../core/webview-html';
import { redactTrace } from '../core/redact';
import { UsageError, parseDuration } from './args';
import { Option, value, type CliCommand } from './command';
import { collectorTokens } from '../core/collector';
import { terminalSafe } from '../core/terminal-safe';
import { stdout } from './io';

export function mediaDir(): string {
  const candidates = [path.join(__dirname, '..', 'media'), path.join(__dirname, '..', '..', 'media')];
  for (const c of candidates) if (fs.existsSync(path.join(c, 'webview.js'))) return c;
  throw new UsageError(`The timeline bundle (media/webview.js) was not found next to the CLI (looked in ${candidates.join(', ')}). Run "npm run build".`);
}

export interface ViewServer {
  url: string;
  close(): Promise<void>;
}

/** The only content type the page posts with (a cross-origin page cannot send it without a CORS preflight, which is never answered). */
const POST_TYPE = 'application/json';
const MAX_MESSAGE_BYTES = 64 * 1024;

/**
 * Starts the viewer server for one trace; resolves when it listens. Every request must carry
 * the per-run secret as the first path segment (`/<secret>/trace.json`), name this server in
 * `Host` (a DNS-rebound name does not), and, when it has an `Origin`, come from this server's
 * own origin. POST /message must be same-origin, `application/json`, at most 64 KiB.
 */
export function serveTrace(trace: Trace, opts: { port?: number; title?: string; onOpenFrame?: (f: { file: string; line: number; col: number }) => void } = {}): Promise<ViewServer> {
  const media = mediaDir();
  const traceJson = JSON.stringify(redactTrace(trace, collectorTokens()));
  const js = fs.readFileSync(path.join(media, 'webview.js'));
  const css = fs.readFileSync(path.join(media, 'webview.css'));
  const secret = crypto.randomBytes(18).toString('base64url');
  const secretBytes = Buffer.from(secret);
  const prefix = `/${secret}/`;
  let port = 0;
  const common = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' };
  const refuse = (res: http.ServerResponse, status: number, text: string) => {
    res.writeHead(status, { ...common, 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end(text + '\n');
  };
  const server = http.createServer((req, res) => {
    const own = [`127.0.0.1:${port}`, `localhost:${port}`];
    // DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 still sends Host: evil.example.
    if (!own.includes(String(req.headers.host ?? '').toLowerCase())) return refuse(res, 421, 'this server answers only to its own address (Host)');
    const origin = req.headers.origin;
    if (origin !== undefined && !own.some((h) => origin === `http://${h}`)) return refuse(res, 403, 'cross-origin requests are refused (Origin)');
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return refuse(res, 403, 'cross-site requests are refused (Sec-Fetch-Site)');
    const url = (req.url || '/').split('?')[0];
    const given = Buffer.from(url.slice(1, 1 + secret.length));
    if (url[prefix.length - 1] !== '/' || given.length !== secretBytes.length || !crypto.timingSafeEqual(given, secretBytes)) return refuse(res, 404, 'not found');
    const rest = url.slice(prefix.length);
    if (req.method === 'GET' && rest === '') {
      const nonce = makeNonce();
      const html = renderWebviewHtml({
        scriptUri: `${prefix}webview.js`,
        styleUri: `${prefix}webview.css`,
        cspSource: "'self'",
        nonce,
        title: opts.title ?? 'Shutdown Trace',
        standalone: { traceUrl: `${prefix}trace.json`, postUrl: `${prefix}message` },
      } as Parameters<typeof renderWebviewHtml>[0]);
      res.writeHead(200, { ...common, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': webviewCsp("'self'", nonce, "'self'") + " frame-ancestors 'none';" });
      res.end(html);
    } else if (req.method === 'GET' && rest === 'webview.js') {
      res.writeHead(200, { ...common, 'content-type': 'text/javascript; charset=utf-8' }).end(js);
    } else if (req.method === 'GET' && rest === 'webview.css') {
      res.writeHead(200, { ...common, 'content-type': 'text/css; charset=utf-8' }).end(css);
    } else if (req.method === 'GET' && rest === 'trace.json') {
      res.writeHead(200, { ...common, 'content-type': 'application/json' }).end(traceJson);
    } else if (req.method === 'POST' && rest === 'message') {
      // The page's own fetch always sends Origin on a POST; a request without one is not the page.
      if (origin === undefined) return refuse(res, 403, "a message needs this server's Origin");
      const type = String(req.headers['content-type'] ?? '')
        .split(';')[0]
        .trim()
        .toLowerCase();
      if (type !== POST_TYPE) return refuse(res, 415, `messages are ${POST_TYPE}`);
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (d: Buffer) => {
        size += d.length;
        if (size > MAX_MESSAGE_BYTES) {
          refuse(res, 413, 'message too large');
          req.destroy();
        } else chunks.push(d);
      });
      req.on('end', () => {
        if (size > MAX_MESSAGE_BYTES) return;
        try {
          const m = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (m?.type === 'open-frame' && typeof m.file === 'string' && Number.isSafeInteger(m.line) && Number.isSafeInteger(m.col)) opts.onOpenFrame?.({ file: m.file, line: m.line, col: m.col });
        } catch {}
        res.writeHead(204, common).end();
      });
    } else {
      refuse(res, 404, 'not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new UsageError(`port ${opts.port} is in use; pick another with --port, or omit it for a random one`) : e));
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      port = (server.address() as { port: number }).port;
      resolve({
        url: `http://127.0.0.1:${port}${prefix}`,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

export interface ViewValues {
  port?: number;
  for?: number;
}

export function declareViewOptions(cmd: CliCommand): CliCommand {
  return cmd
    .description('open the timeline in a browser')
    .argument('<trace>', 'a .shutdown-trace.json file')
    .addOption(value(new Option('--port <N>', 'port on 127.0.0.1 (default: a random free one)'), (v) => Number(v)))
    .addOption(value(new Option('--for <DURATION>', 'stop serving after this long (default: until Ctrl+C)'), parseDuration));
}

/** shutdown-trace view <trace> [--port N] [--for DURATION] */
export async function runView(v: ViewValues, file: string, read: (f: string) => Trace): Promise<number> {
  const port = v.port;
  const forMs = v.for;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new UsageError('--port must be a port number');
  const trace = read(file);
  // A clicked frame's file comes from the page: one line, control characters removed.
  const s = await serveTrace(trace, { port, title: `Shutdown Trace — ${path.basename(file)}`, onOpenFrame: (f) => stdout(`${terminalSafe(f.file)}:${f.line}:${f.col}\n`) });
  stdout(`Shutdown Trace viewer for ${terminalSafe(file)}\n  ${s.url}\nOpen it in a browser (the address holds this session's secret). Ctrl+C to stop.\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (forMs) setTimeout(stop, forMs).unref();
  });
  await s.close();
  return 0;
}
