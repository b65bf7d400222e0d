/**
 * Traffic during shutdown: HTTP requests at a fixed rate (open loop: a new request every 1/rate s
 * whether or not the previous ones were answered) at the traced service, from when it listens
 * until shortly after its main process exits, and optionally long-lived server-sent-event
 * streams. Built on undici (a Pool per run); every request is recorded as a span with its
 * outcome:
 *
 *   ok           an answer below 500 (the status is kept; 4xx counts as answered)
 *   refused      ECONNREFUSED: nothing accepted the connection (the listener was closed)
 *   reset        the connection was cut mid-request (ECONNRESET, EPIPE, "other side closed")
 *   timeout      no full answer within the timeout (or still unanswered when the run ended)
 *   http-5xx     an answer of 500 or more
 *   other-error  anything else, with its code and message
 *
 * vscode-free; the launcher owns one LoadGenerator per run.
 */
import { Pool } from 'undici';
import { withLocalPort } from './load-ports';
import { LOAD_OUTCOMES, type LoadConfig, type LoadOutcome, type LoadSpan, type LoadSummary } from '../shared/traffic';

export type { LoadSpan };

export const LOAD_DEFAULTS = { rate: 20, timeoutMs: 5000, tailMs: 300, path: '/' } as const;
/** At most this many spans are recorded per run; the rest are only counted. */
export const MAX_RECORDED_REQUESTS = 20_000;
const MAX_RATE = 1000;
const MAX_CONNECTIONS = 256;

/** Classifies a failed request from undici's error (and whether our own timer fired). */
export function classifyError(e: unknown, timedOut: boolean): { outcome: LoadOutcome; error: string } {
  const err = (e ?? {}) as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = err.code && err.code !== 'UND_ERR_SOCKET' ? err.code : (err.cause?.code ?? err.code);
  const error = `${code ? code + ': ' : ''}${err.message ?? String(e)}`;
  if (timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return { outcome: 'timeout', error };
  if (code === 'ECONNREFUSED') return { outcome: 'refused', error };
  // HPE_INVALID_EOF_STATE: the connection closed in the middle of a (chunked) response body.
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED' || code === 'UND_ERR_SOCKET' || code === 'HPE_INVALID_EOF_STATE') return { outcome: 'reset', error };
  return { outcome: 'other-error', error };
}

/** The URL requests go to, from the target and the service's first TCP listen address. */
export function resolveLoadUrl(cfg: Pick<LoadConfig, 'target' | 'path'>, listenAddress?: string): URL {
  const p = cfg.path ?? LOAD_DEFAULTS.path;
  const withPath = (hostPort: string) => new URL(`http://${hostPort}${p.startsWith('/') ? p : '/' + p}`);
  const t = cfg.target.trim();
  if (/^https?:\/\//i.test(t)) return new URL(t);
  if (/^\d+$/.test(t)) return withPath(`127.0.0.1:${t}`);
  if (t === 'auto' || t === '') {
    if (!listenAddress) throw new Error('the service has not listened on a TCP port');
    const m = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(listenAddress);
    if (!m) throw new Error(`cannot send requests to ${listenAddress}`);
    let host = m[1];
    // A wildcard bind is reached on loopback.
    if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
    else if (host === '[::]') host = '[::1]';
    return withPath(`${host}:${m[2]}`);
  }
  if (/^[^/:]+:\d+$/.test(t) || /^\[[^\]]+\]:\d+$/.test(t)) return withPath(t);
  throw new Error(`--load: not a port, host:port or http:// URL: ${cfg.target}`);
}

export interface LoadHooks {
  /** Trace clock, ms. */
  now(): number;
  /** Called once per finished request or stream (at most MAX_RECORDED_REQUESTS times). */
  onSpan(span: LoadSpan): void;
}

export class LoadGenerator {
  private pool: Pool | undefined;
  private url: URL | undefined;
  private startedAt = 0;
  private issued = 0;
  private skipped = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private seq = 0;
  private recorded = 0;
  private readonly inflight = new Map<number, { abort: () => void; settled: Promise<void> }>();
  private readonly byOutcome = Object.fromEntries(LOAD_OUTCOMES.map((o) => [o, 0])) as Record<LoadOutcome, number>;
  private readonly statuses: Record<string, number> = {};
  private streams = 0;

  constructor(
    readonly cfg: LoadConfig,
    private readonly hooks: LoadHooks,
  ) {}

  get started(): boolean {
    return !!this.url;
  }

  get resolvedUrl(): string | undefined {
    return this.url?.href;
  }

  /** Starts the streams and the request ticker. Throws (with a message to show) when the target cannot be resolved. */
  start(listenAddress?: string): URL {
    if (this.url) return this.url;
    const url = resolveLoadUrl(this.cfg, listenAddress);
    if (url.protocol !== 'http:') throw new Error(`--load: only http:// targets are supported (got ${url.protocol}//)`);
    this.url = url;
    this.pool = new Pool(url.origin, { connections: MAX_CONNECTIONS, pipelining: 1, headersTimeout: 0, bodyTimeout: 0, connect: { timeout: this.cfg.timeoutMs ?? LOAD_DEFAULTS.timeoutMs } });
    this.startedAt = this.hooks.now();
    for (let i = 0; i < (this.cfg.sse ?? 0); i++) this.openStream();
    if (this.cfg.rate > 0) this.tick();
    return url;
  }

  /**
   * The target stopped receiving new traffic (a Kubernetes Service removed the endpoint): no new
   * requests from now on; those in flight and the streams go on. Issue 11's endpoint lag.
   */
  stopNewRequests(): void {
    this.unrouted = true;
  }
  private unrouted = false;

  private tick = (): void => {
    this.timer = undefined;
    if (this.stopped || this.unrouted) return;
    const rate = Math.min(this.cfg.rate, MAX_RATE);
    const due = Math.floor(((this.hooks.now() - this.startedAt) * rate) / 1000) + 1;
    let burst = 0;
    while (this.issued < due && burst < 50) {
      this.issued++;
      burst++;
      this.fire();
    }
    // Fell far behind (the event loop was blocked): do not flood the service to catch up.
    if (this.issued < due) {
      this.skipped += due - this.issued;
      this.issued = due;
    }
    const nextAt = this.startedAt + (this.issued * 1000) / rate;
    this.timer = setTimeout(this.tick, Math.max(0, nextAt - this.hooks.now()));
    this.timer.unref();
  };

  private record(span: LoadSpan): void {
    this.byOutcome[span.outcome]++;
    if (span.status !== undefined) this.statuses[span.status] = (this.statuses[span.status] ?? 0) + 1;
    if (this.recorded >= MAX_RECORDED_REQUESTS) return;
    this.recorded++;
    try {
      this.hooks.onSpan(span);
    } catch {}
  }

  /** Runs one request; `why()` says whether we aborted it: at its timeout, or because the run ended. */
  private track(id: number, run: (signal: AbortSignal, why: () => 'timeout' | 'end' | undefined) => Promise<void>, timeoutMs: number | undefined): void {
    const ac = new AbortController();
    let why: 'timeout' | 'end' | undefined;
    const timer = timeoutMs
      ? setTimeout(() => {
          why = 'timeout';
          ac.abort();
        }, timeoutMs)
      : undefined;
    timer?.unref();
    const settled = run(ac.signal, () => why)
      .catch(() => undefined)
      .finally(() => {
        if (timer) clearTimeout(timer);
        this.inflight.delete(id);
      });
    this.inflight.set(id, {
      abort: () => {
        why ??= 'end';
        ac.abort();
      },
      settled,
    });
  }

  private fire(): void {
    const pool = this.pool!;
    const url = this.url!;
    const id = ++this.seq;
    const keepAlive = this.cfg.keepAlive;
    const t = this.hooks.now();
    this.track(
      id,
      async (signal, why) => {
        let status: number | undefined;
        let localPort: number | undefined;
        try {
          const res = await withLocalPort(
            (p) => (localPort = p),
            () => pool.request({ path: url.pathname + url.search, method: 'GET', headers: { 'user-agent': 'shutdown-trace-load' }, reset: !keepAlive, signal }),
          );
          status = res.statusCode;
          // Read the whole body: the request is answered only when the body is complete.
          for await (const _ of res.body) void _;
          this.record({ id, t, end: this.hooks.now(), outcome: status >= 500 ? 'http-5xx' : 'ok', status, keepAlive, ...(localPort ? { localPort } : {}) });
        } catch (e) {
          const w = why();
          const c = classifyError(e, w !== undefined);
          const error = w === 'end' ? 'still unanswered when the run ended' : w === 'timeout' ? `no answer within ${this.cfg.timeoutMs ?? LOAD_DEFAULTS.timeoutMs} ms` : c.error;
          this.record({ id, t, end: this.hooks.now(), outcome: c.outcome, status, error, keepAlive, ...(localPort ? { localPort } : {}) });
        }
      },
      this.cfg.timeoutMs ?? LOAD_DEFAULTS.timeoutMs,
    );
  }

  private openStream(): void {
    const pool = this.pool!;
    const url = this.url!;
    const path = this.cfg.ssePath ? (this.cfg.ssePath.startsWith('/') ? this.cfg.ssePath : '/' + this.cfg.ssePath) : url.pathname + url.search;
    const id = ++this.seq;
    const keepAlive = this.cfg.keepAlive;
    const t = this.hooks.now();
    this.streams++;
    this.track(
      id,
      async (signal, why) => {
        let status: number | undefined;
        let events = 0;
        try {
          const res = await pool.request({
            path,
            method: 'GET',
            headers: { accept: 'text/event-stream', 'cache-control': 'no-cache', 'user-agent': 'shutdown-trace-load' },
            reset: !keepAlive,
            signal,
          });
          status = res.statusCode;
          let buf = '';
          for await (const chunk of res.body) {
            buf += (chunk as Buffer).toString('utf8');
            const parts = buf.split(/\r?\n\r?\n/);
            buf = parts.pop()!;
            events += parts.filter((p) => p.trim()).length;
          }
          // The server ended the stream: what a graceful shutdown does.
          this.record({ id, t, end: this.hooks.now(), outcome: status >= 500 ? 'http-5xx' : 'ok', status, keepAlive, sse: true, events });
        } catch (e) {
          const c = why() === 'end' ? { outcome: 'other-error' as const, error: 'still open when the run ended' } : classifyError(e, false);
          this.record({ id, t, end: this.hooks.now(), outcome: c.outcome, status, error: c.error, keepAlive, sse: true, events });
        }
      },
      undefined,
    );
  }

  /** Stop sending new requests (streams stay open). */
  stopIssuing(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Ends the load: no new requests; waits up to `waitMs` for the ones in flight, then aborts
   * the rest (recorded as unanswered when the run ended) and closes every connection.
   */
  async finish(waitMs = 1000): Promise<LoadSummary> {
    this.stopIssuing();
    const until = Date.now() + waitMs;
    while (this.inflight.size && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    const left = [...this.inflight.values()];
    for (const f of left) f.abort();
    await Promise.all(left.map((f) => f.settled));
    if (this.pool) await this.pool.destroy().catch(() => undefined);
    return this.summary();
  }

  summary(): LoadSummary {
    return { url: this.url?.href ?? '', sent: this.issued, recorded: this.recorded, streams: this.streams, byOutcome: { ...this.byOutcome }, statuses: { ...this.statuses }, skipped: this.skipped };
  }
}
