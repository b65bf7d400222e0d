/**
 * `shutdown-trace view <trace>`: serves the same webview bundle the extension uses, on
 * 127.0.0.1, for people without VS Code and for traces attached to bug reports.
 * The page fetches /trace.json; the CSP is the webview's own (nonce'd script, no remote
 * resources). Serves only these fixed paths, never files by name.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { Trace } from '../core/trace';
import { renderWebviewHtml, makeNonce, webviewCsp } from '../core/webview-html';
import { redactTrace } from '../core/redact';
import { UsageError, parseDuration } from './args';

export function mediaDir(): string {
  const candidates = [path.join(__dirname, '..', 'media'), path.join(__dirname, '..', '..', 'media')];
  for (const c of candidates) if (fs.existsSync(path.join(c, 'webview.js'))) return c;
  throw new UsageError(`The timeline bundle (media/webview.js) was not found next to the CLI (looked in ${candidates.join(', ')}). Run "npm run build".`);
}

export interface ViewServer {
  url: string;
  close(): Promise<void>;
}

/** Starts the viewer server for one trace; resolves when it listens. */
export function serveTrace(trace: Trace, opts: { port?: number; title?: string; onOpenFrame?: (f: { file: string; line: number; col: number }) => void } = {}): Promise<ViewServer> {
  const media = mediaDir();
  const traceJson = JSON.stringify(redactTrace(trace));
  const js = fs.readFileSync(path.join(media, 'webview.js'));
  const css = fs.readFileSync(path.join(media, 'webview.css'));
  const server = http.createServer((req, res) => {
    const url = (req.url || '/').split('?')[0];
    const common = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' };
    if (req.method === 'GET' && url === '/') {
      const nonce = makeNonce();
      const html = renderWebviewHtml({ scriptUri: '/webview.js', styleUri: '/webview.css', cspSource: "'self'", nonce, title: opts.title ?? 'Shutdown Trace', standalone: { traceUrl: '/trace.json', postUrl: '/message' } } as Parameters<typeof renderWebviewHtml>[0]);
      res.writeHead(200, { ...common, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': webviewCsp("'self'", nonce, "'self'") });
      res.end(html);
    } else if (req.method === 'GET' && url === '/webview.js') {
      res.writeHead(200, { ...common, 'content-type': 'text/javascript; charset=utf-8' }).end(js);
    } else if (req.method === 'GET' && url === '/webview.css') {
      res.writeHead(200, { ...common, 'content-type': 'text/css; charset=utf-8' }).end(css);
    } else if (req.method === 'GET' && url === '/trace.json') {
      res.writeHead(200, { ...common, 'content-type': 'application/json' }).end(traceJson);
    } else if (req.method === 'POST' && url === '/message') {
      let body = '';
      req.on('data', (d) => {
        body += d;
        if (body.length > 64 * 1024) req.destroy();
      });
      req.on('end', () => {
        try {
          const m = JSON.parse(body);
          if (m?.type === 'open-frame' && typeof m.file === 'string') opts.onOpenFrame?.({ file: m.file, line: Number(m.line), col: Number(m.col) });
        } catch {}
        res.writeHead(204, common).end();
      });
    } else {
      res.writeHead(404, { ...common, 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new UsageError(`port ${opts.port} is in use; pick another with --port, or omit it for a random one`) : e));
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}/`,
        close: () => new Promise((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
      });
    });
  });
}

/** shutdown-trace view <trace> [--port N] [--for DURATION] */
export async function runView(args: string[], read: (f: string) => Trace): Promise<number> {
  let file: string | undefined;
  let port: number | undefined;
  let forMs: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--port') port = Number(args[++i]);
    else if (a.startsWith('--port=')) port = Number(a.slice(7));
    else if (a === '--for') forMs = parseDuration(args[++i] ?? '', '--for');
    else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else file = a;
  }
  if (!file) throw new UsageError('view needs a trace file');
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new UsageError('--port must be a port number');
  const trace = read(file);
  const s = await serveTrace(trace, { port, title: `Shutdown Trace — ${path.basename(file)}`, onOpenFrame: (f) => process.stdout.write(`${f.file}:${f.line}:${f.col}\n`) });
  process.stdout.write(`Shutdown Trace viewer for ${file}\n  ${s.url}\nOpen it in a browser. Ctrl+C to stop.\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (forMs) setTimeout(stop, forMs).unref();
  });
  await s.close();
  return 0;
}
