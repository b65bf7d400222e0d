/**
 * The collector: a WebSocket server the preloads report to.
 * Secure by default: 127.0.0.1 only, random port, a per-run token checked at the upgrade
 * (constant-time), one connection per pid (a second hello for a pid is a replay and refused),
 * an optional check that the pid belongs to the traced process tree, an explicit maxPayload.
 * Every process of the session holds the token, so every hello and event is also checked field
 * by field (validate-wire.ts) and only the protocol's fields are kept.
 * Everything refused is counted and reported; nothing refused stops the run.
 */
import * as http from 'http';
import * as crypto from 'crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { TOKEN_HEADER, PROTOCOL_VERSION, type HelloMessage, type PreloadEvent, type CollectorMessage, type SnapshotReason } from '../shared/wire';
import { validateHello, validEvents } from '../shared/validate-wire';
import { SchemaError, type Ctx } from '../shared/schema';
import { REDACTED } from './redact';

export const COLLECTOR_MAX_PAYLOAD = 16 * 1024 * 1024;

/**
 * Every token a collector of this process has issued. The token is in the service's environment,
 * so a service that prints its environment prints it; writers of traces and reports replace
 * these exact values (the CLI before it writes anything).
 */
const issuedTokens = new Set<string>();
export function collectorTokens(): string[] {
  return [...issuedTokens];
}

export interface CollectorHandlers {
  onHello(hello: HelloMessage): void;
  /** Events with their per-process sequence number (for dedup against spool files). */
  onEvents(pid: number, seq: number, events: PreloadEvent[]): void;
  /** A refused connection or frame: counted and logged, the run goes on. */
  onReject(kind: 'connection' | 'frame', reason: string): void;
  /** Optional: does this pid belong to the traced tree? */
  belongsToRun?(pid: number): boolean;
}

function isLoopback(addr: string | undefined): boolean {
  return addr === '127.0.0.1' || addr === '::1' || addr === '::ffff:127.0.0.1';
}

export function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

export class Collector {
  readonly token = crypto.randomBytes(24).toString('hex');
  port = 0;
  private readonly http: http.Server;
  private readonly wss: WebSocketServer;
  private readonly byPid = new Map<number, WebSocket>();
  private readonly seenPids = new Set<number>();
  private closing: Promise<void> | undefined;

  /** Copy mode for the wire: only the protocol's fields, and our own token never stored. */
  private readonly wire: Ctx;

  constructor(private readonly handlers: CollectorHandlers) {
    issuedTokens.add(this.token);
    const token = this.token;
    this.wire = { copy: true, scrub: (s) => (s.includes(token) ? s.split(token).join(REDACTED) : s) };
    this.http = http.createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('Shutdown Trace collector: WebSocket only.\n');
    });
    this.wss = new WebSocketServer({
      server: this.http,
      maxPayload: COLLECTOR_MAX_PAYLOAD,
      perMessageDeflate: false,
      verifyClient: (info, done) => {
        const addr = info.req.socket.remoteAddress;
        if (!isLoopback(addr)) {
          this.handlers.onReject('connection', `connection from non-loopback address ${addr}`);
          return done(false, 403);
        }
        const got = info.req.headers[TOKEN_HEADER];
        if (typeof got !== 'string' || got.length === 0) {
          this.handlers.onReject('connection', 'connection without a token');
          return done(false, 401);
        }
        if (!tokensEqual(got, this.token)) {
          this.handlers.onReject('connection', 'connection with a wrong token');
          return done(false, 401);
        }
        done(true);
      },
    });
    this.wss.on('connection', (ws) => this.onConnection(ws));
    this.wss.on('error', () => {});
  }

  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(0, '127.0.0.1', () => {
        this.port = (this.http.address() as { port: number }).port;
        resolve(this.port);
      });
    });
  }

  private onConnection(ws: WebSocket): void {
    let pid: number | undefined;
    ws.on('error', (e) => {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.handlers.onReject('frame', `frame larger than maxPayload (${COLLECTOR_MAX_PAYLOAD} bytes) from pid ${pid ?? '?'}; connection closed`);
      else this.handlers.onReject('frame', `connection error from pid ${pid ?? '?'}: ${e.message}`);
    });
    ws.on('close', () => {
      if (pid !== undefined && this.byPid.get(pid) === ws) this.byPid.delete(pid);
    });
    ws.on('message', (data, isBinary) => {
      // Nothing a process of the session sends may stop the run: even a handler that throws on
      // an event that passed validation is counted as a refused frame.
      try {
        pid = this.onFrame(ws, pid, data, isBinary);
      } catch (e) {
        this.handlers.onReject('frame', `a frame from pid ${pid ?? '?'} could not be handled: ${(e as Error)?.message ?? String(e)}`);
      }
    });
  }

  /** Handles one frame; returns the connection's pid (set by its hello). */
  private onFrame(ws: WebSocket, pid: number | undefined, data: unknown, isBinary: boolean): number | undefined {
    let msg: Record<string, unknown>;
    try {
      if (isBinary) throw new Error('binary frame');
      const parsed = JSON.parse(String(data));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      msg = parsed;
    } catch (e) {
      this.handlers.onReject('frame', `malformed frame (${(e as Error).message})`);
      return pid;
    }
    if (pid === undefined) {
      if (msg.type !== 'hello' || typeof msg.pid !== 'number' || !Number.isInteger(msg.pid) || msg.pid <= 0) {
        this.handlers.onReject('frame', 'first frame was not a valid hello');
        ws.close(1008, 'hello expected');
        return pid;
      }
      if (msg.protocol !== PROTOCOL_VERSION) {
        this.handlers.onReject('connection', `protocol version ${String(msg.protocol)} from pid ${msg.pid}; expected ${PROTOCOL_VERSION}`);
        ws.close(1008, 'protocol');
        return pid;
      }
      if (this.seenPids.has(msg.pid)) {
        this.handlers.onReject('connection', `replayed hello for pid ${msg.pid}`);
        ws.close(1008, 'replay');
        return pid;
      }
      if (this.handlers.belongsToRun && !this.handlers.belongsToRun(msg.pid)) {
        this.handlers.onReject('connection', `pid ${msg.pid} is not part of the traced process tree`);
        ws.close(1008, 'foreign pid');
        return pid;
      }
      let hello: HelloMessage;
      try {
        hello = validateHello(msg, this.wire);
      } catch (e) {
        if (!(e instanceof SchemaError)) throw e;
        this.handlers.onReject('frame', `hello from pid ${msg.pid} refused: ${e.message.trim()}`);
        ws.close(1008, 'hello');
        return pid;
      }
      this.seenPids.add(hello.pid);
      this.byPid.set(hello.pid, ws);
      try {
        this.handlers.onHello(hello);
      } catch (e) {
        this.handlers.onReject('frame', `the hello from pid ${hello.pid} could not be handled: ${(e as Error)?.message ?? String(e)}`);
      }
      return hello.pid;
    }
    if (msg.type !== 'events' || !Array.isArray(msg.events) || typeof msg.seq !== 'number' || !Number.isSafeInteger(msg.seq) || msg.seq < 0) {
      this.handlers.onReject('frame', `malformed message from pid ${pid}`);
      return pid;
    }
    const from = pid;
    const good = validEvents(msg.events, (reason) => this.handlers.onReject('frame', `malformed event from pid ${from}: ${reason}`), this.wire);
    if (good.length) this.handlers.onEvents(pid, msg.seq, good);
    return pid;
  }

  /** Drops every preload connection (tests: "the collector's connection drops mid-run"). */
  dropConnections(): void {
    for (const ws of this.wss.clients) ws.terminate();
  }

  connectedPids(): number[] {
    return [...this.byPid.keys()];
  }

  send(pid: number, m: CollectorMessage): boolean {
    const ws = this.byPid.get(pid);
    if (!ws || ws.readyState !== ws.OPEN) return false;
    ws.send(JSON.stringify(m));
    return true;
  }

  requestSnapshot(reason: SnapshotReason, pids = this.connectedPids()): number[] {
    return pids.filter((p) => this.send(p, { type: 'snapshot-request', reason }));
  }

  /** Idempotent: every caller gets the same promise. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise((resolve) => {
        for (const ws of this.wss.clients) ws.terminate();
        this.wss.close(() => {
          this.http.close(() => resolve());
          this.http.closeAllConnections?.();
        });
      });
    }
    return this.closing;
  }
}
