/**
 * Shutdown Trace preload. Injected with `--require` through NODE_OPTIONS into every node
 * process of a traced run. Rules (see README "Do no harm"):
 *  - never throws into user code: the whole body and every hook is guarded;
 *  - never prints unless SHUTDOWN_TRACE_VERBOSE is set;
 *  - never keeps the process alive: its socket and timers are unref'd;
 *  - never adds a listener that changes default behaviour (no SIGTERM/uncaughtException/
 *    unhandledRejection listeners of its own; signal arrival is seen through process.emit);
 *  - loads nothing from the user's node_modules (ws is bundled);
 *  - is safe to load twice.
 * Hot paths (setTimeout, connect) only capture a structured stack; formatting waits for a snapshot.
 */
import type { Socket as NetSocket, Server as NetServer } from 'net';
import { now } from './clock';
import { captureSite, resolveSite, SHALLOW_FRAMES, type SiteHolder } from './site';
import { openSink } from './transport';
import { STANDALONE_ENV, SPOOL_TOOL_VERSION } from '../core/spool-format';
import { Owners } from './owners';
import { installPackageClasses } from './package-classes';
import { disguise } from './native-look';
import { reportOutput } from './output-report';
import { isUserFile } from '../shared/frames';
import { ENV, PHASE_CHANNEL, PROTOCOL_VERSION, type PreloadEvent, type HandleInfo, type SnapshotReason, type CollectorMessage, type HandleType } from '../shared/wire';

const LOADED = Symbol.for('shutdown-trace.preload.loaded');
const kInfo = Symbol('shutdown-trace.info');

interface TrackInfo {
  id: string;
  type: HandleType;
  site?: SiteHolder;
  createdAt: number;
  label?: string;
  details?: Record<string, string | number | boolean>;
  ref?: boolean;
}
type Tracked = { [kInfo]?: TrackInfo };

let verbose = false;
function log(msg: string): void {
  if (!verbose) return;
  try {
    require('fs').writeSync(2, `[shutdown-trace ${process.pid}] ${msg}\n`);
  } catch {}
}

/** Runs a hook body; a failure inside the tool is logged (when verbose) and never reaches the user. */
function guard(what: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    log(`${what} failed: ${(e as Error)?.stack || e}`);
  }
}

function start(): void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[LOADED]) return;
  g[LOADED] = true;

  const env = process.env;
  verbose = !!env[ENV.verbose];
  const port = Number(env[ENV.port]);
  const token = env[ENV.token];
  const standaloneDir = !port || !token ? env[STANDALONE_ENV] : undefined;
  if ((!port || !token) && !standaloneDir) {
    log('no collector configured; staying inert');
    return;
  }
  // Worker threads share the process; the main thread reports for all of them.
  const wt = require('worker_threads') as typeof import('worker_threads');
  if (!wt.isMainThread) return;

  const selfFile = __filename;
  const stallMs = Number(env[ENV.stallMs]) || 1000;
  let nextId = 1;
  const newId = (p: string) => `${p}${nextId++}`;

  const transport = openSink({
    standaloneDir,
    toolVersion: SPOOL_TOOL_VERSION,
    port,
    token,
    spoolDir: env[ENV.spool],
    hello: { type: 'hello', protocol: PROTOCOL_VERSION, pid: process.pid, ppid: process.ppid, argv: process.argv.slice(), node: process.version, cwd: process.cwd(), t: now() },
    onMessage: (m) => guard('collector message', () => onCollectorMessage(m)),
    log,
  });
  const emit = (ev: PreloadEvent) => guard('send', () => transport.send(ev));

  // A process the launcher did not start itself writes into someone else's pipes: say what it wrote.
  const launcherPid = Number(env[ENV.launcherPid]);
  if (launcherPid && process.ppid !== launcherPid) guard('output', () => reportOutput((stream, text) => emit({ kind: 'output', t: now(), stream, text })));

  // Library objects and the user's line that created them, for handles made in a later tick.
  const owners = new Owners(selfFile);
  guard('owners', () => owners.install());
  guard('package classes', () => installPackageClasses(owners, guard));

  // ------------------------------------------------------------------ timers
  // Kept in a Set pruned amortised: the set never holds more than ~2x the live timers.
  const liveTimers = new Set<NodeJS.Timeout & Tracked>();
  let pruneAt = 1024;
  let sizeAfterPrune = 0;
  const pruneTimers = () => {
    for (const t of liveTimers) if ((t as unknown as { _destroyed: boolean })._destroyed) liveTimers.delete(t);
    sizeAfterPrune = liveTimers.size;
    pruneAt = Math.max(1024, liveTimers.size * 2);
  };
  /** Live timers, pruning first (amortised: at most once per 256 creations) when the set looks big. */
  const liveTimerCount = () => {
    if (liveTimers.size >= 2000 && liveTimers.size - sizeAfterPrune > 256) pruneTimers();
    return liveTimers.size;
  };
  // Memory stays proportional to what is live: every handle gets a creation site while fewer
  // than SITE_ALWAYS of its kind are live, then one in SITE_SAMPLE. Unsampled handles are still
  // reported and counted; only their stack is missing (details.siteSampled = false).
  const SITE_ALWAYS = 2000;
  const SITE_SAMPLE = 16;
  let sampleTick = 0;
  const wantSite = (live: number) => live < SITE_ALWAYS || ++sampleTick % SITE_SAMPLE === 0;
  // CPU stays proportional too: a site costs 20–40 µs, and some libraries arm a timer per request
  // (pg-pool's idle timer each time a client goes back to the pool). Every timer gets a site for
  // the process's first TIMER_SITES_AT_START timers (start-up, where the timers that leak are
  // armed) and from the first signal on (the timers that can hold a shutdown). In between, the
  // first TIMER_SITES_PER_S of each second get one, then one in TIMER_SAMPLE. A library's timer
  // left alive is still tied to its owner (owners.ts) without a site of its own.
  // Set at the first signal (declared here: the timer wrappers read it).
  let shuttingDown = false;
  const TIMER_SITES_AT_START = 1000;
  const TIMER_SITES_PER_S = 10;
  const TIMER_SAMPLE = 256;
  let timersSeen = 0;
  let timerWindow = 0;
  let timerSites = 0;
  const wantTimerSite = (live: number) => {
    if (++timersSeen <= TIMER_SITES_AT_START || shuttingDown) return wantSite(live);
    const second = Math.floor(now() / 1000);
    if (second !== timerWindow) {
      timerWindow = second;
      timerSites = 0;
    }
    if (timerSites < TIMER_SITES_PER_S) {
      if (!wantSite(live)) return false;
      timerSites++;
      return true;
    }
    return ++sampleTick % TIMER_SAMPLE === 0;
  };
  const timers = require('timers') as typeof import('timers');
  const wrapTimer = (orig: Function, type: 'timeout' | 'interval') => {
    const wrapped = function (this: unknown, _cb: unknown, ms?: unknown) {
      // eslint-disable-next-line prefer-rest-params
      const t = orig.apply(this, arguments);
      try {
        if (t && typeof t === 'object') {
          const sampled = wantTimerSite(liveTimerCount());
          (t as Tracked)[kInfo] = {
            id: '',
            type,
            site: sampled ? captureSite(wrapped, SHALLOW_FRAMES) : undefined,
            createdAt: now(),
            details: sampled ? { delayMs: typeof ms === 'number' ? ms : 1 } : { delayMs: typeof ms === 'number' ? ms : 1, siteSampled: false },
          };
          liveTimers.add(t);
          if (liveTimers.size >= pruneAt) pruneTimers();
        }
      } catch {}
      return t;
    };
    Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(orig));
    return disguise(wrapped, orig);
  };
  const ourSetTimeout = wrapTimer(globalThis.setTimeout, 'timeout');
  const ourSetInterval = wrapTimer(globalThis.setInterval, 'interval');
  const origSetTimeout = globalThis.setTimeout;
  const origSetInterval = globalThis.setInterval;
  globalThis.setTimeout = ourSetTimeout as typeof setTimeout;
  globalThis.setInterval = ourSetInterval as typeof setInterval;
  if (timers.setTimeout === origSetTimeout) (timers as { setTimeout: unknown }).setTimeout = ourSetTimeout;
  if (timers.setInterval === origSetInterval) (timers as { setInterval: unknown }).setInterval = ourSetInterval;
  // The tool's own timers must never be counted: they use the originals and are unref'd.
  const internalTimeout = (fn: () => void, ms: number) => {
    const t = origSetTimeout(fn, ms);
    t.unref();
    return t;
  };
  // Fired and cleared timers leave the set within ~2 s, so what it holds tracks live timers.
  origSetInterval(() => guard('prune', pruneTimers), 2000).unref();

  // ------------------------------------------------------------------ net / http servers
  const net = require('net') as typeof import('net');
  const serverIds = new WeakMap<object, string>();
  const serverId = (s: object) => {
    let id = serverIds.get(s);
    if (!id) serverIds.set(s, (id = newId('srv')));
    return id;
  };
  const addressOf = (a: unknown): string => {
    if (!a) return '?';
    if (typeof a === 'string') return a;
    const o = a as { address: string; port: number; family?: string };
    return o.family === 'IPv6' ? `[${o.address}]:${o.port}` : `${o.address}:${o.port}`;
  };
  const serverProto = (s: Record<string, unknown>): 'http' | 'https' | 'net' | 'tls' => {
    const secure = typeof s.addContext === 'function';
    const http = 'maxHeadersCount' in s;
    return http ? (secure ? 'https' : 'http') : secure ? 'tls' : 'net';
  };
  /** "HTTP", "HTTPS", "HTTP/2", "TLS", "NET": what a user calls the server. */
  const serverKind = (s: object) => {
    const name = (s as { constructor?: { name?: string } }).constructor?.name;
    if (name === 'Http2Server') return 'HTTP/2';
    if (name === 'Http2SecureServer') return 'HTTP/2 (TLS)';
    return serverProto(s as never).toUpperCase();
  };
  const ServerProto = net.Server.prototype as unknown as Record<string, Function>;
  const origListen = ServerProto.listen;
  let wrapHttpCloses = () => {};
  ServerProto.listen = function listen(this: NetServer & Tracked) {
    try {
      if (closeWrapped.size < 2) wrapHttpCloses();
      const site = captureSite(listen);
      const server = this;
      const info: TrackInfo = { id: serverId(server), type: 'server', site, createdAt: now() };
      server[kInfo] = info;
      server.once('listening', () =>
        guard('listen', () => {
          const address = addressOf(server.address());
          info.label = `${serverKind(server)} server ${address}`;
          emit({ kind: 'listen', t: now(), server: info.id, proto: serverProto(server as never), address, site: resolveSite(site, selfFile) });
          emit({ kind: 'handle-open', t: info.createdAt, handle: describe(server, info) });
          server.once('close', () => emit({ kind: 'handle-close', t: now(), id: info.id }));
        }),
      );
    } catch {}
    // eslint-disable-next-line prefer-rest-params
    return origListen.apply(this, arguments);
  };

  /** Accepted connections of a server, found without tracking each connection on the hot path. */
  const connectionsOf = (server: object): NetSocket[] => {
    const out: NetSocket[] = [];
    for (const h of (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles()) {
      if (h instanceof net.Socket && (h as unknown as { server?: object }).server === server) out.push(h);
    }
    return out;
  };
  const inRequest = (s: NetSocket): boolean => {
    const res = (s as unknown as { _httpMessage?: { writableFinished?: boolean; finished?: boolean } })._httpMessage;
    return !!res && !res.writableFinished;
  };
  const connIds = new WeakMap<object, string>();
  const reqIds = new WeakMap<object, string>();
  const watchedConns = new WeakSet<object>();
  const watchConnection = (sid: string, s: NetSocket) => {
    if (watchedConns.has(s)) return;
    watchedConns.add(s);
    const conn = newId('conn');
    connIds.set(s, conn);
    const remote = `${s.remoteAddress}:${s.remotePort}`;
    let how: 'client-closed' | 'server-ended' | 'destroyed' | 'error' = 'destroyed';
    const hadRequest = inRequest(s);
    s.once('end', () => (how = 'client-closed'));
    s.once('error', () => (how = 'error'));
    const origEnd = s.end;
    s.end = function (this: NetSocket) {
      if (how === 'destroyed') how = 'server-ended';
      // eslint-disable-next-line prefer-rest-params
      return origEnd.apply(this, arguments as never);
    } as typeof s.end;
    s.once('close', () => emit({ kind: 'conn-end', t: now(), server: sid, conn, remote, how, hadRequest: hadRequest || inRequest(s) }));
  };
  const watchResponse = (sid: string, req: { method?: string; url?: string }, res: { once(e: string, f: () => void): void; statusCode: number; writableFinished?: boolean }) => {
    if (reqIds.has(res)) return;
    const id = newId('req');
    reqIds.set(res, id);
    const url = String(req.url || '/');
    emit({ kind: 'request-start', t: now(), server: sid, req: id, method: String(req.method || '?'), path: url.split('?')[0] });
    let ended = false;
    const end = (aborted: boolean) => {
      if (ended) return;
      ended = true;
      emit({ kind: 'request-end', t: now(), server: sid, req: id, status: res.statusCode, aborted });
    };
    res.once('finish', () => end(false));
    res.once('close', () => end(!res.writableFinished));
  };

  // Request-level tracking starts only when shutdown starts: zero cost per request before it.
  let requestTracking = false;
  const startRequestTracking = () => {
    if (requestTracking) return;
    requestTracking = true;
    guard('dc subscribe', () => {
      const dc = require('diagnostics_channel') as typeof import('diagnostics_channel');
      dc.subscribe('http.server.request.start', (m: unknown) =>
        guard('request', () => {
          const msg = m as { request: { method?: string; url?: string }; response: never; server: object; socket: NetSocket };
          const sid = serverIds.get(msg.server);
          if (!sid) return;
          watchConnection(sid, msg.socket);
          watchResponse(sid, msg.request, msg.response);
        }),
      );
    });
  };

  const origClose = ServerProto.close;
  // http(s).Server#close closes idle connections before it calls net.Server#close, so the
  // bookkeeping runs in whichever close is entered first, once.
  let inClose = false;
  const recordClose = (server: NetServer & Tracked, skip: Function) => {
    guard('server close', () => {
      const sid = serverId(server);
      const conns = connectionsOf(server);
      let active = 0;
      for (const s of conns) if (inRequest(s)) active++;
      emit({ kind: 'server-close', t: now(), server: sid, site: resolveSite(captureSite(skip), selfFile), connections: conns.length, active, inFlight: active });
      startRequestTracking();
      for (const s of conns) {
        watchConnection(sid, s);
        const res = (s as unknown as { _httpMessage?: never; parser?: { incoming?: { method?: string; url?: string } } })._httpMessage;
        if (res && inRequest(s)) watchResponse(sid, (res as { req?: { method?: string; url?: string } }).req || {}, res);
      }
      if (!closeWatched.has(server)) {
        closeWatched.add(server);
        server.once('close', () => emit({ kind: 'server-closed', t: now(), server: sid }));
      }
    });
  };
  const closeWatched = new WeakSet<object>();
  const wrapClose = (proto: Record<string, Function>, orig: Function) => {
    proto.close = disguise(function close(this: NetServer & Tracked) {
      const outer = !inClose;
      if (outer) {
        inClose = true;
        recordClose(this, close);
      }
      try {
        // eslint-disable-next-line prefer-rest-params
        return orig.apply(this, arguments);
      } finally {
        if (outer) inClose = false;
      }
    }, orig);
  };
  wrapClose(ServerProto, origClose);
  // http and https are wrapped at the first listen after each is loaded, not at start: loading
  // https (and tls with it) costs a service that never uses it several milliseconds. A server
  // cannot be closed with connections before it listened, so nothing is missed.
  const closeWrapped = new Set<string>();
  wrapHttpCloses = () => {
    const loaded = (process as unknown as { moduleLoadList?: string[] }).moduleLoadList;
    for (const mod of ['http', 'https']) {
      if (closeWrapped.has(mod) || (Array.isArray(loaded) && !loaded.includes(`NativeModule ${mod}`))) continue;
      closeWrapped.add(mod);
      guard(`${mod} close`, () => {
        const P2 = (require(mod) as { Server: { prototype: Record<string, Function> } }).Server.prototype;
        if (Object.prototype.hasOwnProperty.call(P2, 'close')) wrapClose(P2, P2.close);
      });
    }
  };

  // Client sockets: creation site at connect (the tool's own socket is created with this off).
  let ownConnect = false;
  const SocketProto = net.Socket.prototype as unknown as Record<string, Function>;
  const origConnect = SocketProto.connect;
  let liveClientSockets = 0;
  const onClientSocketClose = () => liveClientSockets--;
  SocketProto.connect = function connect(this: NetSocket & Tracked) {
    if (!ownConnect && !this[kInfo]) {
      try {
        const sampled = wantSite(liveClientSockets);
        this[kInfo] = { id: newId('sock'), type: 'socket', site: sampled ? captureSite(connect) : undefined, createdAt: now(), details: sampled ? undefined : { siteSampled: false } };
        liveClientSockets++;
        this.once('close', onClientSocketClose);
      } catch {}
    }
    // eslint-disable-next-line prefer-rest-params
    return origConnect.apply(this, arguments);
  };

  // ------------------------------------------------------------------ child processes
  const cp = require('child_process') as typeof import('child_process');
  const CPProto = cp.ChildProcess.prototype as unknown as Record<string, Function>;
  const origSpawn = CPProto.spawn;
  CPProto.spawn = function spawn(this: import('child_process').ChildProcess & Tracked, options: { file?: string; args?: string[] }) {
    const site = captureSite(spawn);
    // eslint-disable-next-line prefer-rest-params
    const r = origSpawn.apply(this, arguments);
    guard('spawn', () => {
      const child = this;
      const command = (options && Array.isArray(options.args) ? options.args : [String(options?.file)]).join(' ');
      const info: TrackInfo = {
        id: newId('cp'),
        type: 'child-process',
        site,
        createdAt: now(),
        label: `child process ${child.pid}: ${command.slice(0, 200)}`,
        details: { pid: child.pid ?? -1, command: command.slice(0, 1000) },
      };
      child[kInfo] = info;
      if (child.pid) {
        emit({ kind: 'spawn', t: now(), childPid: child.pid, command: command.slice(0, 1000), site: resolveSite(site, selfFile) });
        emit({ kind: 'handle-open', t: info.createdAt, handle: describe(child, info) });
        child.once('exit', () => emit({ kind: 'handle-close', t: now(), id: info.id }));
      }
    });
    return r;
  };

  // ------------------------------------------------------------------ fs watchers
  const fs = require('fs') as typeof import('fs');
  const wrapWatch = (name: 'watch' | 'watchFile', type: HandleType) => {
    const orig = (fs as unknown as Record<string, Function>)[name];
    const wrapped = function (this: unknown, file: unknown) {
      const site = captureSite(wrapped);
      // eslint-disable-next-line prefer-rest-params
      const w = orig.apply(this, arguments);
      guard(name, () => {
        if (w && typeof w === 'object') {
          const p = String(file);
          const info: TrackInfo = { id: newId('fsw'), type, site, createdAt: now(), label: `fs.${name} ${p}`, details: { path: p } };
          (w as Tracked)[kInfo] = info;
          emit({ kind: 'handle-open', t: info.createdAt, handle: describe(w, info) });
          if (typeof (w as { once?: Function }).once === 'function') (w as import('fs').FSWatcher).once('close', () => emit({ kind: 'handle-close', t: now(), id: info.id }));
        }
      });
      return w;
    };
    Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(orig));
    (fs as unknown as Record<string, unknown>)[name] = disguise(wrapped, orig);
  };
  wrapWatch('watch', 'fs-watcher');
  wrapWatch('watchFile', 'stat-watcher');

  // ------------------------------------------------------------------ worker threads
  // Workers are not in _getActiveHandles(): track them, and their ref state, ourselves.
  const liveWorkers = new Set<import('worker_threads').Worker & Tracked>();
  const OrigWorker = wt.Worker;
  const WorkerProto = OrigWorker.prototype as unknown as Record<string, Function>;
  const origRef = WorkerProto.ref;
  const origUnref = WorkerProto.unref;
  // Method syntax, like the originals: no `prototype`, not constructible.
  WorkerProto.ref = {
    ref(this: Tracked) {
      if (this[kInfo]) this[kInfo]!.ref = true;
      // eslint-disable-next-line prefer-rest-params
      return origRef.apply(this, arguments);
    },
  }.ref;
  WorkerProto.unref = {
    unref(this: Tracked) {
      if (this[kInfo]) this[kInfo]!.ref = false;
      // eslint-disable-next-line prefer-rest-params
      return origUnref.apply(this, arguments);
    },
  }.unref;
  class TracedWorker extends OrigWorker {
    constructor(filename: string | URL, options?: import('worker_threads').WorkerOptions) {
      super(filename, options);
      guard('worker', () => {
        const self = this as TracedWorker & Tracked;
        const file = typeof filename === 'string' && options?.eval ? '<eval>' : String(filename);
        const info: TrackInfo = {
          id: newId('wk'),
          type: 'worker',
          site: captureSite(TracedWorker),
          createdAt: now(),
          label: `worker thread ${self.threadId}: ${file.slice(0, 200)}`,
          details: { threadId: self.threadId, file },
          ref: self[kInfo]?.ref ?? true,
        };
        self[kInfo] = info;
        liveWorkers.add(self);
        emit({ kind: 'handle-open', t: info.createdAt, handle: describe(self, info) });
        self.once('exit', () => {
          liveWorkers.delete(self);
          emit({ kind: 'handle-close', t: now(), id: info.id });
        });
      });
    }
  }
  Object.defineProperty(TracedWorker, 'name', { value: 'Worker' });
  (wt as { Worker: unknown }).Worker = TracedWorker;

  // ------------------------------------------------------------------ dgram
  const dgram = require('dgram') as typeof import('dgram');
  const DgramProto = dgram.Socket.prototype as unknown as Record<string, Function>;
  const origBind = DgramProto.bind;
  DgramProto.bind = function bind(this: Tracked) {
    if (!this[kInfo]) {
      try {
        this[kInfo] = { id: newId('udp'), type: 'udp', site: captureSite(bind), createdAt: now() };
      } catch {}
    }
    // eslint-disable-next-line prefer-rest-params
    return origBind.apply(this, arguments);
  };

  // Every replaced method presents itself as the one it replaced.
  guard('disguise', () => {
    disguise(ServerProto.listen, origListen);
    disguise(SocketProto.connect, origConnect);
    disguise(CPProto.spawn, origSpawn);
    disguise(WorkerProto.ref, origRef);
    disguise(WorkerProto.unref, origUnref);
    disguise(TracedWorker, OrigWorker);
    disguise(DgramProto.bind, origBind);
  });

  // ESM `import { setTimeout } from 'timers'` etc. read the patched CJS exports.
  guard('sync esm', () => require('module').syncBuiltinESMExports());

  // ------------------------------------------------------------------ snapshots
  function describe(h: object, info: TrackInfo): HandleInfo {
    return {
      id: info.id || (info.id = newId('h')),
      type: info.type,
      label: info.label || info.type,
      ref: info.ref ?? true,
      createdAt: info.createdAt,
      site: resolveSite(info.site, selfFile),
      details: info.details,
    };
  }

  const RESOURCE_NAME: Partial<Record<HandleType, string>> = {
    timeout: 'Timeout',
    interval: 'Timeout',
    server: 'TCPServerWrap',
    socket: 'TCPSocketWrap',
    pipe: 'PipeWrap',
    udp: 'UDPWrap',
    'child-process': 'ProcessWrap',
    'fs-watcher': 'FSEventWrap',
    'stat-watcher': 'StatWatcher',
  };

  function describeActiveHandle(h: unknown): HandleInfo | undefined {
    if (!h || typeof h !== 'object') return undefined;
    if (transport.isOwnSocket(h)) return undefined;
    const o = h as Record<string, unknown> & Tracked;
    const handleName = (o._handle as object | undefined)?.constructor?.name;
    if (h === process.stdout || h === process.stderr) return undefined;
    if (h === process.stdin) return { id: 'stdin', type: handleName === 'Pipe' ? 'pipe' : 'socket', label: 'process.stdin is being read', ref: true };
    const info = o[kInfo];
    if (h instanceof net.Server) {
      // close() was called: the listening handle is going away; its connections are reported themselves.
      if (!(h as unknown as { _handle: unknown })._handle) return undefined;
      const i = info || { id: serverId(h), type: 'server' as const, createdAt: undefined as unknown as number };
      return { ...describe(h, i), label: `${serverKind(h)} server ${addressOf(h.address())}`, details: { address: addressOf(h.address()), connections: connectionsOf(h).length } };
    }
    if (h instanceof cp.ChildProcess) {
      const i = info || { id: newId('cp'), type: 'child-process' as const, createdAt: undefined as unknown as number, label: `child process ${h.pid}` };
      return describe(h, i);
    }
    if (h instanceof net.Socket) {
      const s = h as NetSocket & { server?: object & Tracked; _type?: string };
      // A child's stdio pipe belongs to the child, which is reported itself.
      if (handleName === 'Pipe' && !info && !s.server) {
        return { id: newId('pipe'), type: 'pipe', label: 'pipe', ref: true };
      }
      if (s.server) {
        const srv = s.server[kInfo];
        const busy = inRequest(s);
        const isHttp = 'maxHeadersCount' in s.server;
        // An HTTP connection keeps its parser until it is upgraded (WebSocket, socket.io), which frees it.
        const upgraded = isHttp && !busy && !(s as unknown as { parser?: unknown }).parser;
        const where = s.remoteAddress ? `${s.localAddress}:${s.localPort} ← ${s.remoteAddress}:${s.remotePort}` : `on ${addressOf((s.server as unknown as NetServer).address?.())}`;
        return {
          id: connIds.get(s) || newId('conn'),
          type: 'socket',
          label: `${upgraded ? 'WebSocket connection' : 'connection'} ${where}${isHttp && !upgraded ? (busy ? ' (request in progress)' : ' (idle keep-alive)') : ''}`,
          ref: true,
          site: srv ? resolveSite(srv.site, selfFile) : undefined,
          details: {
            local: `${s.localAddress}:${s.localPort}`,
            remote: `${s.remoteAddress}:${s.remotePort}`,
            accepted: true,
            inRequest: busy,
            upgraded,
            bytesRead: s.bytesRead,
            bytesWritten: s.bytesWritten,
          },
        };
      }
      const i = info || { id: newId('sock'), type: 'socket' as const, createdAt: undefined as unknown as number };
      const remote = s.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : String(s.remotePort ?? '?');
      return {
        ...describe(h, i),
        type: handleName === 'Pipe' ? 'pipe' : 'socket',
        label: `socket ${s.localAddress ?? '?'}:${s.localPort ?? '?'} → ${remote}${s.connecting ? ' (connecting)' : ''}`,
        details: { ...(i.details || {}), local: `${s.localAddress}:${s.localPort}`, remote, bytesRead: s.bytesRead, bytesWritten: s.bytesWritten },
      };
    }
    if (h instanceof dgram.Socket) {
      const i = info || { id: newId('udp'), type: 'udp' as const, createdAt: undefined as unknown as number };
      let addr = '?';
      try {
        addr = addressOf(h.address());
      } catch {}
      return { ...describe(h, i), type: 'udp', label: `UDP socket ${addr}`, details: { address: addr } };
    }
    if (info) return describe(h, info);
    const name = (h as object).constructor?.name || 'handle';
    // A bare Pipe handle is an IPC channel (fork, cluster): the link between two processes, not a leak of either.
    if (name === 'Pipe')
      return {
        id: newId('ipc'),
        type: 'pipe',
        label: h === (process as unknown as { channel?: unknown }).channel ? 'IPC channel to the parent process' : 'IPC channel',
        ref: true,
        details: { ipc: true },
      };
    if (name === 'FSWatcher') return { id: newId('fsw'), type: 'fs-watcher', label: 'fs.watch (created before tracing)', ref: true, details: { predates: true } };
    if (name === 'StatWatcher') return { id: newId('fsw'), type: 'stat-watcher', label: 'fs.watchFile (created before tracing)', ref: true, details: { predates: true } };
    return { id: newId('h'), type: 'other', label: name, ref: true };
  }

  const HANDLE_RESOURCE: Record<string, string> = { Pipe: 'PipeWrap', TTY: 'TTYWrap', TCP: 'TCPSocketWrap' };
  /** Resources Node lists that are ours or the process's own stdio: never the user's leak. */
  function toolAndStdioResources(): Map<string, number> {
    const m = new Map<string, number>();
    for (const s of [process.stdout, process.stderr, transport.socket]) {
      const h = (s as unknown as { _handle?: { hasRef?(): boolean; constructor: { name: string } } } | undefined)?._handle;
      const name = h && HANDLE_RESOURCE[h.constructor.name];
      if (name && h!.hasRef?.()) m.set(name, (m.get(name) || 0) + 1);
    }
    return m;
  }
  function userResourceCount(): number {
    let n = process.getActiveResourcesInfo().length;
    for (const v of toolAndStdioResources().values()) n -= v;
    return n;
  }

  // Bounds that keep a snapshot of a flooded process fast and small: stacks are formatted for
  // at most SITE_BUDGET timers; identical handles collapse into one entry with a count.
  const SITE_BUDGET = 2000;
  const MAX_ENTRIES = 1000;
  function collapse(handles: HandleInfo[]): HandleInfo[] {
    if (handles.length <= 3) return handles;
    const groups = new Map<string, HandleInfo[]>();
    for (const h of handles) {
      const f = h.site && h.site.frames[h.site.user >= 0 ? h.site.user : 0];
      const key = `${h.type}|${h.ref}|${f ? `${f.file}:${f.line}:${f.col}` : h.details?.siteSampled === false ? 'unsampled' : '?'}|${h.type === 'timeout' || h.type === 'interval' ? h.label : ''}|${h.owner?.id ?? ''}`;
      const g = groups.get(key);
      if (g) g.push(h);
      else groups.set(key, [h]);
    }
    const out: HandleInfo[] = [];
    for (const g of groups.values()) {
      if (g.length <= 3) out.push(...g);
      else
        out.push({
          ...g[0],
          label: `${g.length} × ${g[0].label}${g[0].details?.siteSampled === false ? ' (creation sites not sampled: over 2000 live)' : ''}`,
          details: { ...(g[0].details || {}), count: g.length },
        });
    }
    out.sort((a, b) => Number(b.ref) - Number(a.ref) || Number(b.details?.count ?? 1) - Number(a.details?.count ?? 1));
    return out.slice(0, MAX_ENTRIES);
  }

  /** A live handle without a user frame of its own: a library made it, maybe in a later tick. */
  // Every ref'd handle that library code made, even when the user's call is further down its
  // stack (`await client.connect()`), and accepted connections (a WebSocket server's clients);
  // not what user code made itself (its first frame outside node is the user's).
  const needsOwner = (d: HandleInfo) => {
    if (!d.ref || d.details?.ipc) return false;
    if (d.details?.accepted) return true;
    const frames = d.site?.frames;
    if (!frames) return true;
    let first: { file: string } | undefined;
    for (const f of frames) {
      if (!f.file.startsWith('node:')) {
        first = f;
        break;
      }
    }
    return !first || !isUserFile(first.file);
  };
  function attachOwners(handles: HandleInfo[], objects: Map<HandleInfo, object>): void {
    const targets = new Map<object, HandleInfo['site']>();
    const infoOf = new Map<object, HandleInfo>();
    for (const d of handles) {
      const o = objects.get(d);
      if (!o || !needsOwner(d)) continue;
      targets.set(o, d.site);
      infoOf.set(o, d);
    }
    for (const [o, owner] of owners.attribute(targets)) infoOf.get(o)!.owner = owner;
  }

  function snapshot(reason: SnapshotReason): void {
    const t = now();
    let handles: HandleInfo[] = [];
    const objects = new Map<HandleInfo, object>();
    pruneTimers();
    let formatted = 0;
    let unresolvedTimers = 0;
    for (const tm of liveTimers) {
      const info = tm[kInfo]!;
      const ms = info.details?.delayMs;
      const label = `${info.type === 'interval' ? 'setInterval' : 'setTimeout'} ${ms} ms`;
      if (!info.id) info.id = newId('tm');
      // Only formatting a stack costs; unsampled timers are always listed.
      if (info.site) {
        if (formatted >= SITE_BUDGET) {
          if (tm.hasRef()) unresolvedTimers++;
          continue;
        }
        formatted++;
      }
      const d = { ...describe(tm, { ...info, label }), id: info.id, ref: tm.hasRef() };
      handles.push(d);
      objects.set(d, tm);
    }
    for (const h of (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles()) {
      const d = describeActiveHandle(h);
      if (d) {
        handles.push(d);
        objects.set(d, h as object);
      }
    }
    for (const w of liveWorkers) handles.push(describe(w, w[kInfo]!));
    guard('owners', () => attachOwners(handles, objects));
    // Whatever Node knows is alive that we could not name: counted by type, never hidden.
    const counts = new Map<string, number>();
    for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) || 0) + 1);
    for (const h of handles) {
      if (!h.ref) continue;
      const name = h.type === 'socket' && h.details?.accepted ? 'TCPSocketWrap' : RESOURCE_NAME[h.type];
      if (name && counts.has(name)) counts.set(name, counts.get(name)! - 1);
    }
    for (const [name, n] of toolAndStdioResources()) counts.set(name, (counts.get(name) || 0) - n);
    if (unresolvedTimers) counts.set('Timeout', (counts.get('Timeout') || 0) - unresolvedTimers);
    const unidentified: { type: string; count: number }[] = [];
    for (const [type, count] of counts) if (count > 0) unidentified.push({ type, count });
    if (unresolvedTimers) unidentified.push({ type: `Timeout (${unresolvedTimers} more timers; creation sites not resolved beyond the first ${SITE_BUDGET})`, count: unresolvedTimers });
    handles = collapse(handles);
    emit({ kind: 'snapshot', t, reason, handles, unidentified });
  }

  // ------------------------------------------------------------------ signals and listeners
  const os = require('os') as typeof import('os');
  const SIGNALS = new Set(Object.keys(os.constants.signals));
  const signalCount = new Map<string, number>();
  let stallTimer: NodeJS.Timeout | undefined;
  let stallSnapshots = 0;
  let countSampler: NodeJS.Timeout | undefined;
  const armStall = () => {
    if (stallTimer) clearTimeout(stallTimer);
    if (stallSnapshots >= 3) return;
    stallTimer = internalTimeout(() => {
      stallSnapshots++;
      guard('stall snapshot', () => snapshot('stalled'));
    }, stallMs);
  };
  // Sampled every 50 ms while shutting down; sent when it changes, or once a second.
  let lastCount = -1;
  let lastCountAt = 0;
  const sampleCount = () =>
    guard('count', () => {
      const t = now();
      const count = userResourceCount();
      if (count === lastCount && t - lastCountAt < 1000) return;
      lastCount = count;
      lastCountAt = t;
      emit({ kind: 'active-count', t, count });
    });
  const onShutdownStart = () => {
    if (shuttingDown) return;
    shuttingDown = true;
    startRequestTracking();
    sampleCount();
    countSampler = origSetInterval(sampleCount, 50);
    countSampler.unref();
  };

  const recordSignal = (sig: string) =>
    guard('signal', () => {
      const nth = (signalCount.get(sig) || 0) + 1;
      signalCount.set(sig, nth);
      let total = 0;
      for (const n of signalCount.values()) total += n;
      emit({ kind: 'signal', t: now(), signal: sig, nth: total, listeners: process.listenerCount(sig) });
      onShutdownStart();
      armStall();
    });

  const P = process as unknown as Record<string, Function>;
  const origOn = P.on;
  const origPrepend = P.prependListener;
  const origRemove = P.removeListener;
  const wrapSignalListener = (signal: string, fn: Function, once: boolean, skip: Function): Function => {
    const site = captureSite(skip);
    const id = newId('l');
    // Named so that, in a stack trace, the one frame the tool adds says what it is.
    const w = function shutdownTraceListener(this: unknown) {
      // The first listener of an emission records the arrival (process.emit is not patched for
      // signals, which would add a second frame to the user's stacks).
      if (process.rawListeners(signal)[0] === w) recordSignal(signal);
      if (once) origRemove.call(process, signal, w);
      let started = false;
      guard('listener-start', () => {
        emit({ kind: 'listener-start', t: now(), id, signal, site: resolveSite(site, selfFile), name: fn.name || undefined });
        started = true;
      });
      let result: unknown;
      let returned = false;
      // Never catch and rethrow: Node reports an uncaught error at the last throw site, which
      // must stay the user's line. The error itself is recorded by uncaughtExceptionMonitor.
      try {
        // eslint-disable-next-line prefer-rest-params
        result = fn.apply(this, arguments);
        returned = true;
      } finally {
        if (!returned && started) guard('listener-threw', () => emit({ kind: 'listener-end', t: now(), id, signal, threw: 'threw an exception', returnedPromise: false }));
      }
      guard('listener-end', () => {
        const isPromise = !!result && typeof (result as Promise<unknown>).then === 'function';
        emit({ kind: 'listener-end', t: now(), id, signal, returnedPromise: isPromise });
        if (isPromise) {
          // A rejection is re-thrown from the derived promise, so it stays unhandled exactly as it was.
          (result as Promise<unknown>).then(
            () => {
              emit({ kind: 'listener-settled', t: now(), id, signal, ok: true });
              armStall();
            },
            (err: unknown) => {
              emit({ kind: 'listener-settled', t: now(), id, signal, ok: false, error: errText(err) });
              armStall();
              throw err;
            },
          );
        }
        armStall();
      });
      return result;
    };
    (w as unknown as { listener: Function }).listener = fn;
    return w;
  };
  // Adding our own unhandledRejection listener would change what Node does with a rejection;
  // wrapping the app's own listeners only observes what the app already handles.
  const wrapRejectionListener = (fn: Function): Function => {
    const w = function shutdownTraceRejectionListener(this: unknown, reason: unknown) {
      // Reading .stack would run a user's prepareStackTrace the app may never have asked for.
      guard('rejection', () =>
        emit({
          kind: 'error',
          t: now(),
          origin: 'unhandledRejection',
          message: errText(reason),
          stack: reason instanceof Error && (Error as { prepareStackTrace?: unknown }).prepareStackTrace === undefined && typeof reason.stack === 'string' ? reason.stack : undefined,
        }),
      );
      // eslint-disable-next-line prefer-rest-params
      return fn.apply(this, arguments);
    };
    (w as unknown as { listener: Function }).listener = fn;
    return w;
  };
  const patchAdd = (name: string, orig: Function, once: boolean) => {
    const patched = function (this: unknown, ev: unknown, fn: unknown) {
      if (this === process && ev === 'unhandledRejection' && typeof fn === 'function' && !once) {
        let w: Function = fn;
        try {
          w = wrapRejectionListener(fn);
        } catch {}
        return orig.call(this, ev, w);
      }
      if (this === process && typeof ev === 'string' && SIGNALS.has(ev) && typeof fn === 'function') {
        let w: Function = fn;
        try {
          w = wrapSignalListener(ev, fn, once, patched);
        } catch {}
        return orig.call(this, ev, w);
      }
      // eslint-disable-next-line prefer-rest-params
      return (once ? (name === 'once' ? origOnce : origPrependOnce) : orig).apply(this, arguments);
    };
    P[name] = disguise(patched, name === 'once' ? origOnce : name === 'prependOnceListener' ? origPrependOnce : orig);
  };
  const origOnce = P.once;
  const origPrependOnce = P.prependOnceListener;
  patchAdd('on', origOn, false);
  patchAdd('addListener', origOn, false);
  patchAdd('prependListener', origPrepend, false);
  patchAdd('once', origOn, true);
  patchAdd('prependOnceListener', origPrepend, true);

  function errText(e: unknown): string {
    try {
      if (e instanceof Error) return `${e.name}: ${e.message}`;
      return String(e);
    } catch {
      return 'unprintable error';
    }
  }

  // ------------------------------------------------------------------ process lifecycle
  let exitCalled = false;
  let finished = false;
  const finish = (reason: SnapshotReason | undefined) => {
    if (finished) return;
    finished = true;
    if (reason) guard('final snapshot', () => snapshot(reason));
    if (countSampler) clearInterval(countSampler);
    guard('finish', () => transport.finish());
  };
  // Lifecycle through ordinary listeners, never by patching process.emit: Node binds signal
  // handlers to process.emit, so a patch would add a frame to every signal listener's stack.
  // 'exit' and 'beforeExit' listeners that schedule nothing change nothing.
  origOn.call(process, 'beforeExit', (code: number) => guard('beforeExit', () => emit({ kind: 'before-exit', t: now(), code: Number(code ?? 0) })));
  origOn.call(process, 'exit', (code: number) => {
    guard('exit', () => emit({ kind: 'exit', t: now(), code: Number(code ?? process.exitCode ?? 0) }));
    finish(exitCalled ? undefined : 'exit');
  });

  const origExit = P.exit;
  P.exit = function exit(this: unknown, code?: unknown) {
    if (!exitCalled) {
      exitCalled = true;
      guard('exit-call', () => {
        emit({ kind: 'exit-call', t: now(), code: code === undefined ? undefined : (code as number), site: resolveSite(captureSite(exit), selfFile) });
        snapshot('process-exit');
      });
    }
    // eslint-disable-next-line prefer-rest-params
    return origExit.apply(this, arguments);
  };
  disguise(P.exit, origExit);

  // A monitor observes uncaught errors without changing what Node does with them.
  origOn.call(process, 'uncaughtExceptionMonitor', (err: unknown, origin: string) =>
    guard('uncaught', () => {
      emit({
        kind: 'error',
        t: now(),
        origin: origin === 'unhandledRejection' ? 'unhandledRejection' : 'uncaughtException',
        message: errText(err),
        stack: err instanceof Error && typeof err.stack === 'string' ? err.stack : undefined,
      });
      // The process is about to die without an 'exit' event's snapshot reaching us otherwise.
      if (process.listenerCount('uncaughtException') === 0 && origin !== 'unhandledRejection') finish(undefined);
    }),
  );

  // ------------------------------------------------------------------ phases from the app
  guard('phase channel', () => {
    const dc = require('diagnostics_channel') as typeof import('diagnostics_channel') & { tracingChannel?: Function };
    if (typeof dc.tracingChannel !== 'function') return;
    const kPhase = Symbol('phase');
    const ch = dc.tracingChannel(PHASE_CHANNEL) as unknown as { subscribe(h: Record<string, (ctx: Record<string | symbol, unknown>) => void>): void };
    const end = (ctx: Record<string | symbol, unknown>) =>
      guard('phase end', () => {
        const id = ctx[kPhase] as string | undefined;
        if (!id) return;
        const err = ctx.error;
        emit({ kind: 'phase-end', t: now(), id, error: err === undefined ? undefined : errText(err) });
      });
    ch.subscribe({
      start: (ctx) =>
        guard('phase start', () => {
          const id = newId('ph');
          ctx[kPhase] = id;
          emit({ kind: 'phase-start', t: now(), id, name: String(ctx.name ?? ctx.phase ?? 'phase').slice(0, 200) });
        }),
      // `end` comes when the function returns. Only traceSync sets `result` by then (or the
      // function threw); tracePromise and traceCallback phases end at `asyncEnd` — or never,
      // which is exactly what a hung shutdown step looks like.
      end: (ctx) => {
        if ('result' in ctx || 'error' in ctx) end(ctx);
      },
      asyncStart: () => {},
      asyncEnd: end,
      error: () => {},
    });
  });

  function onCollectorMessage(m: CollectorMessage): void {
    switch (m.type) {
      case 'snapshot-request':
        snapshot(m.reason);
        return;
      default:
        // A newer collector's message: ignored.
        log(`unknown collector message ${JSON.stringify(m)}`);
    }
  }

  const connect = () =>
    guard('connect', () => {
      ownConnect = true;
      try {
        transport.connect();
      } finally {
        ownConnect = false;
      }
    });
  // The collector's connection waits until the main module has run, so that it is not on the
  // service's start-up path. A timer, not an immediate: an unref'd immediate waits for the poll
  // phase, which can block until the service's next timer. Unref'd (own-timers): a process that
  // ends before then leaves its events in the exit spool instead, and is never kept alive by this.
  if (transport.connectsLater) setTimeout(connect, 0);
  else connect();
  log('preload active');
}

try {
  start();
} catch (e) {
  log(`preload failed to start: ${(e as Error)?.stack || e}`);
}
