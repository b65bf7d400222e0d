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
 *
 * This file installs each concern in order; the hooks live in the files named after them.
 * It is the body that loader.ts compiles (with V8's code cache) and starts.
 */
import { now } from './clock';
import { openSink } from './transport';
import { STANDALONE_ENV, SPOOL_TOOL_VERSION } from '../core/spool-format';
import { Owners } from './owners';
import { installPackageClasses } from './package-classes';
import { reportOutput } from './output-report';
import { guard, log, setVerbose } from './guard';
import { createContext } from './context';
import { createSiteSampler } from './site-sampling';
import { installTimers } from './timers';
import { installPromiseTimers } from './promise-timers';
import { createServerInfo } from './server-info';
import { createRequestTracking } from './requests';
import { installServers } from './servers';
import { installClientSockets } from './client-sockets';
import { installChildProcesses } from './child-processes';
import { installFsWatchers } from './fs-watchers';
import { installWorkers } from './workers';
import { installUdpSockets } from './udp-sockets';
import { installStdinSite } from './stdin-site';
import { createActiveHandleDescriber } from './active-handles';
import { createSnapshots } from './snapshot';
import { createShutdownWatch } from './shutdown';
import { installSignalListeners } from './signal-listeners';
import { installLifecycle } from './lifecycle';
import { installPhaseChannel } from './phase-channel';
import { ENV, PROTOCOL_VERSION, type CollectorMessage } from '../shared/wire';
import type { LoaderHooks } from './loader-hooks';

const LOADED = Symbol.for('shutdown-trace.preload.loaded');
const CODE_CACHE_AFTER_MS = 2000;

function start(loader: LoaderHooks): void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[LOADED]) return;
  g[LOADED] = true;

  const env = process.env;
  setVerbose(!!env[ENV.verbose]);
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
  const ctx = createContext(selfFile, transport);
  const emit = ctx.emit;

  // A process the launcher did not start itself writes into someone else's pipes: say what it wrote.
  const launcherPid = Number(env[ENV.launcherPid]);
  // With stdout and stderr one terminal, every process says which stream each write went to.
  if (launcherPid && (process.ppid !== launcherPid || env[ENV.streamsShared] === '1')) guard('output', () => reportOutput((stream, text) => emit({ kind: 'output', t: now(), stream, text })));

  // Library objects and the user's line that created them, for handles made in a later tick.
  const owners = new Owners(selfFile);
  guard('owners', () => owners.install());
  guard('package classes', () => installPackageClasses(owners, guard));

  // Handles, in this order: each hook records the creation site of what the user makes.
  const sampler = createSiteSampler(ctx);
  const timers = installTimers(ctx, sampler);
  const promiseTimers = installPromiseTimers(ctx, sampler);
  const servers = createServerInfo(ctx);
  const requests = createRequestTracking(ctx, servers);
  installServers(ctx, servers, requests, (server) => owners.creationSiteOf(server));
  installClientSockets(ctx, sampler.wantSite);
  installChildProcesses(ctx);
  installFsWatchers(ctx);
  const workers = installWorkers(ctx, wt);
  installUdpSockets(ctx);
  let stdinSite: ReturnType<typeof installStdinSite> = () => undefined;
  guard('stdin site', () => (stdinSite = installStdinSite()));

  // ESM `import { setTimeout } from 'timers'` etc. read the patched CJS exports. Only the
  // handle hooks above: process.on and process.exit, patched below, are synced as they were.
  guard('sync esm', () => require('module').syncBuiltinESMExports());

  const describeActiveHandle = createActiveHandleDescriber(ctx, servers, requests, transport, workers, stdinSite);
  const snapshots = createSnapshots(ctx, { timers, promiseTimers, workers, describeActiveHandle, owners, transport });
  const shutdown = createShutdownWatch(ctx, snapshots, requests, stallMs);
  installSignalListeners(ctx, shutdown);
  installLifecycle(ctx, snapshots, shutdown, transport, () => loader.saveCodeCache());
  installPhaseChannel(ctx);

  // Collector messages arrive after connect(), when every concern above is installed.
  function onCollectorMessage(m: CollectorMessage): void {
    switch (m.type) {
      case 'snapshot-request':
        snapshots.snapshot(m.reason);
        return;
      default:
        // A newer collector's message: ignored.
        log(`unknown collector message ${JSON.stringify(m)}`);
    }
  }

  const connect = () =>
    guard('connect', () => {
      ctx.ownConnect = true;
      try {
        transport.connect();
      } finally {
        ctx.ownConnect = false;
      }
    });
  // The collector's connection waits until the main module has run, so that it is not on the
  // service's start-up path. A timer, not an immediate: an unref'd immediate waits for the poll
  // phase, which can block until the service's next timer. Unref'd (own-timers): a process that
  // ends before then leaves its events in the exit spool instead, and is never kept alive by this.
  if (transport.connectsLater) setTimeout(connect, 0);
  else connect();
  // The code cache (loader.ts) holds what was compiled before it is written: by now the
  // service's start-up, which is what it is for. At exit instead if the process ends sooner.
  setTimeout(() => guard('code cache', () => loader.saveCodeCache()), CODE_CACHE_AFTER_MS);
  log('preload active');
}

function startGuarded(loader: LoaderHooks): void {
  try {
    start(loader);
  } catch (e) {
    log(`preload failed to start: ${(e as Error)?.stack || e}`);
  }
}
// Assigned, not `export`ed: an ES export would bring esbuild's __export helper into the bundle.
module.exports = { start: startGuarded };
