/**
 * Leaks as users read them: the handles a snapshot found alive, grouped under the library
 * object that owns them, each with the user's line and the call that releases it.
 * The analysis builds them once; the report, exports and viewer read `analysis.leaks`.
 */
import type { HandleInfo, HandleType } from '../shared/wire';
import { leakFrame, isUserFile, packageOf, madeByPackageAlone } from '../shared/frames';
import type { Leak } from '../shared/trace';

const FIX: Record<HandleType, string> = {
  timeout: 'clearTimeout() it on shutdown, or unref() it',
  interval: 'clearInterval() it on shutdown',
  immediate: 'clearImmediate() it',
  server: 'close() it on shutdown',
  socket: 'end() or destroy() the client on shutdown',
  pipe: 'end() or destroy() the stream on shutdown',
  udp: 'close() the socket on shutdown',
  'child-process': 'stop the child (kill() it) or wait for it before exiting',
  'fs-watcher': 'close() the watcher on shutdown',
  'stat-watcher': 'fs.unwatchFile() it on shutdown',
  worker: 'terminate() the worker on shutdown',
  other: 'close it on shutdown',
};

function count(h: HandleInfo): number {
  return Number(h.details?.count ?? 1);
}

/** What the owner is connected to or listening on, from the handles it holds. */
function whereOf(hs: HandleInfo[]): string {
  for (const h of hs) {
    if (h.type === 'server' && typeof h.details?.address === 'string') return `listening on ${h.details.address}`;
  }
  for (const h of hs) {
    if (h.type === 'socket' && !h.details?.accepted && typeof h.details?.remote === 'string' && /:\d+$/.test(h.details.remote)) return `connected to ${h.details.remote}`;
  }
  return '';
}

function connectionsTitle(hs: HandleInfo[]): string {
  const n = hs.reduce((k, h) => k + count(h), 0);
  const kind = hs.every((h) => h.details?.upgraded) ? 'WebSocket connection' : 'connection';
  return `${n} open ${kind}${n === 1 ? '' : 's'} to ${hs[0].details?.local ?? 'a server'}`;
}

/**
 * Timers that Node counted alive in a snapshot but the preload could not name, as handles.
 * The preload sees setTimeout and setInterval (global, `timers`, ESM alike) and the calls of
 * node:timers/promises (promise-timers.ts); scheduler.wait() and Node's own timers it does not.
 * setImmediate is not hooked (libraries call it on hot paths): an immediate still queued at the
 * snapshot is one re-armed again and again. Other unnamed resources (a server being closed, a
 * request in flight) are not leaks by themselves.
 */
export function unseenTimers(unidentified: readonly { type: string; count: number }[] | undefined): HandleInfo[] {
  const out: HandleInfo[] = [];
  const n = (type: string) => unidentified?.find((x) => x.type === type)?.count ?? 0;
  const timeouts = n('Timeout');
  if (timeouts > 0)
    out.push({
      id: 'unseen-timers',
      type: 'timeout',
      label: `${timeouts === 1 ? 'a timer' : `${timeouts} timers`} made out of the tool's sight (scheduler.wait() of node:timers/promises, or inside Node)`,
      ref: true,
      details: { count: timeouts, unseen: true },
    });
  const immediates = n('Immediate');
  if (immediates > 0)
    out.push({
      id: 'unseen-immediates',
      type: 'immediate',
      label: `${immediates === 1 ? 'a setImmediate callback' : `${immediates} setImmediate callbacks`} still queued (re-armed in a loop?)`,
      ref: true,
      details: { count: immediates, unseen: true },
    });
  return out;
}

/**
 * The package whose code made the handle when the user's line called into it (`new Cron()` of
 * an ES module, where no owner is recorded): the user holds what that call returned, not the
 * handle, so "clearTimeout() it" is not advice they can follow.
 */
function libraryCalledAt(h: HandleInfo): string | undefined {
  const s = h.site;
  if (!s || !Array.isArray(s.frames)) return undefined;
  const user = s.frames.findIndex((f) => isUserFile(f.file));
  for (let i = user - 1; i >= 0; i--) {
    const pkg = packageOf(s.frames[i].file);
    if (pkg) return pkg;
  }
  return undefined;
}

export function fixFor(h: HandleInfo): string {
  if (h.details?.unseen && h.type === 'immediate') return 'stop re-arming it on shutdown (check a stopping flag before each setImmediate)';
  if (h.details?.unseen) return 'give the awaited timer a { signal } and abort that on shutdown';
  if (h.details?.promises && h.type === 'interval') return 'end the loop over it on shutdown: break out of it, or pass it { signal } and abort that';
  if (h.details?.promises) return 'pass it { signal } and abort that on shutdown';
  if (h.owner?.via === 'source') return 'stop, close or end what this call returned on shutdown (found in your source: no line of yours was on its stack)';
  if (h.owner?.release?.length) {
    const [first, ...rest] = h.owner.release;
    return `call ${first}()${rest.length ? ` (or ${rest.map((r) => `${r}()`).join(', ')})` : ''} on it on shutdown`;
  }
  // readline's close() pauses its input: for a console, that is the call the user has at hand.
  if (h.id === 'stdin') return 'stop reading it on shutdown: rl.close() on the readline interface reading it, or process.stdin.pause()';
  if (h.type === 'server' && typeof h.details?.madeBy === 'string')
    return `close what ${h.details.madeBy} returned at this line on shutdown (its close()); ${h.details.madeBy} made this server and closes it with that`;
  const by = h.owner ? undefined : libraryCalledAt(h);
  if (by) return `${by} made it inside the call at this line: stop or close what that call returned on shutdown`;
  const later = h.owner ? undefined : madeByPackageAlone(h.site);
  if (later) return `${later} made it with no line of yours on its stack: close or end what you made with ${later} on shutdown`;
  if (h.type === 'socket' && h.details?.accepted && !h.details?.upgraded)
    return 'end long-lived responses (SSE, long-poll) and call server.closeIdleConnections() (or closeAllConnections()) after close()';
  if (h.type === 'socket' && h.details?.upgraded) return 'terminate the WebSocket clients (or close the WebSocket server) on shutdown; closeIdleConnections() does not close upgraded sockets';
  // An owner with no release method of its own (koa's Application): "close() it" would name a
  // method it lacks. The advice is about what it made for you.
  if (h.owner && h.type === 'server') return `${h.owner.name} has no close method: close the server its listen() returned (server.close()) on shutdown`;
  if (h.owner) return `${h.owner.name} has no close method: ${FIX[h.type] ?? FIX.other}`;
  return FIX[h.type] ?? FIX.other;
}

/** Groups one process's live ref'd handles by owner; the user's own leaks first, then by creation time. */
export function groupLeaks(pid: number, handles: HandleInfo[]): Leak[] {
  const groups = new Map<string, HandleInfo[]>();
  for (const h of handles) {
    if (!h.ref || h.details?.ipc) continue;
    // A server's open connections are one leak: the server's shutdown did not end them.
    const key = h.owner ? `own:${h.owner.id}` : h.details?.accepted ? `acc:${h.details.local}` : `h:${h.id}:${h.label}`;
    const g = groups.get(key);
    if (g) g.push(h);
    else groups.set(key, [h]);
  }
  const out: Leak[] = [];
  for (const hs of groups.values()) {
    const owner = hs[0].owner;
    const site = leakFrame(hs[0]);
    const where = owner ? whereOf(hs) : '';
    out.push({
      pid,
      title: owner ? `${owner.name}${where ? ` (${where})` : ''}` : hs[0].details?.accepted ? connectionsTitle(hs) : hs[0].label,
      owner,
      site,
      inUserCode: !!site && isUserFile(site.file),
      handles: hs,
      count: hs.reduce((n, h) => n + count(h), 0),
      fix: fixFor(hs[0]),
    });
  }
  const created = (l: Leak) => Math.min(...l.handles.map((h) => h.createdAt ?? Infinity));
  return out.sort((a, b) => Number(b.inUserCode) - Number(a.inUserCode) || created(a) - created(b));
}
