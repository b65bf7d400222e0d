/**
 * A snapshot: every live handle the preload can name, with its creation site and owner, and
 * whatever else Node counts as alive, by type. Formatting stacks happens here, never on the
 * hot paths that recorded them.
 */
import { now } from './clock';
import { kInfo, type PreloadContext } from './context';
import { isUserFile } from '../shared/frames';
import type { Owners } from './owners';
import type { LiveTimers } from './timers';
import type { LiveWorkers } from './workers';
import type { PromiseTimers } from './promise-timers';
import type { Sink } from './transport';
import type { HandleInfo, HandleType, SnapshotReason } from '../shared/wire';

export interface Snapshots {
  snapshot(reason: SnapshotReason): void;
  /** Resources Node counts as alive, less the tool's own and the process's stdio. */
  userResourceCount(): number;
}

export interface SnapshotSources {
  timers: LiveTimers;
  promiseTimers: PromiseTimers;
  workers: LiveWorkers;
  describeActiveHandle(h: unknown): HandleInfo | undefined;
  owners: Owners;
  transport: Sink;
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
const HANDLE_RESOURCE: Record<string, string> = { Pipe: 'PipeWrap', TTY: 'TTYWrap', TCP: 'TCPSocketWrap' };

// Bounds that keep a snapshot of a flooded process fast and small: stacks are formatted for
// at most SITE_BUDGET timers; identical handles collapse into one entry with a count.
const SITE_BUDGET = 2000;
const MAX_ENTRIES = 1000;

/**
 * One label for handles made at one site, which may differ in what they hold (a watcher per
 * file, a socket per connection): what all labels share, then the first few of what differs, so
 * that no member's path or address stands for all of them.
 */
function groupLabel(g: HandleInfo[]): string {
  const first = g[0].label;
  let end = first.length;
  for (const h of g) {
    let i = 0;
    while (i < end && i < h.label.length && h.label.charCodeAt(i) === first.charCodeAt(i)) i++;
    end = i;
  }
  if (end === first.length && g.every((h) => h.label.length === end)) return first;
  // Back to a word boundary: "fs.watch /srv/a" and "fs.watch /srv/b" share "fs.watch ", not "fs.watch /srv/".
  const prefix = first.slice(0, first.lastIndexOf(' ', end - 1) + 1);
  const rest: string[] = [];
  const seen = new Set<string>();
  for (const h of g) {
    const r = h.label.slice(prefix.length);
    if (seen.has(r)) continue;
    seen.add(r);
    if (rest.length < 3) rest.push(r);
  }
  return `${prefix}${rest.join(', ')}${seen.size > rest.length ? `, … (${seen.size} different)` : ''}`;
}

/** The details every member of a group has alike: a path or an address of one is not the group's. */
function sharedDetails(g: HandleInfo[]): NonNullable<HandleInfo['details']> {
  const out: NonNullable<HandleInfo['details']> = {};
  const first = g[0].details || {};
  for (const k of Object.keys(first)) {
    const v = first[k];
    if (g.every((h) => h.details !== undefined && h.details[k] === v)) out[k] = v;
  }
  return out;
}

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
        label: `${g.length} × ${groupLabel(g)}${g[0].details?.siteSampled === false ? ' (creation sites not sampled)' : ''}`,
        details: { ...sharedDetails(g), count: g.length },
      });
  }
  out.sort((a, b) => Number(b.ref) - Number(a.ref) || Number(b.details?.count ?? 1) - Number(a.details?.count ?? 1));
  return out.slice(0, MAX_ENTRIES);
}

/** A live handle without a user frame of its own: a library made it, maybe in a later tick. */
// Every ref'd handle that library code made, even when the user's call is further down its
// stack (`await client.connect()`), and accepted connections (a WebSocket server's clients);
// not what user code made itself (its first frame outside node is the user's).
function needsOwner(d: HandleInfo): boolean {
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
}

export function createSnapshots(ctx: PreloadContext, src: SnapshotSources): Snapshots {
  const { emit, guard, newId } = ctx;
  const { timers, promiseTimers, workers: liveWorkers, describeActiveHandle, owners, transport } = src;

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

  /**
   * Resources of process.getActiveResourcesInfo() that are not the service's: the collector's
   * socket, and stdout and stderr when the service has made them. Those are found by fd among
   * the active handles: reading process.stdout would create the stream, and with it a handle the
   * service never had (a PipeWrap in its own getActiveResourcesInfo()).
   */
  function toolAndStdioResources(): Map<string, number> {
    const m = new Map<string, number>();
    type Handle = { fd?: unknown; hasRef?(): boolean; constructor: { name: string } };
    const add = (h: Handle | undefined) => {
      const name = h && HANDLE_RESOURCE[h.constructor.name];
      if (name && h!.hasRef?.()) m.set(name, (m.get(name) || 0) + 1);
    };
    for (const o of (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles()) {
      const h = (o as { _handle?: Handle } | null)?._handle;
      if (h && (h.fd === 1 || h.fd === 2)) add(h);
    }
    add((transport.socket as unknown as { _handle?: Handle } | undefined)?._handle);
    return m;
  }
  /** Node's count of what keeps the process alive, by type, less the tool's own and stdio (never below 0). */
  function userResourceCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) || 0) + 1);
    for (const [name, k] of toolAndStdioResources()) if (counts.has(name)) counts.set(name, Math.max(0, counts.get(name)! - k));
    return counts;
  }
  function userResourceCount(): number {
    let n = 0;
    for (const k of userResourceCounts().values()) n += k;
    return n;
  }

  function snapshot(reason: SnapshotReason): void {
    const t = now();
    let handles: HandleInfo[] = [];
    const objects = new Map<HandleInfo, object>();
    timers.prune();
    let formatted = 0;
    let unresolvedTimers = 0;
    for (const tm of timers.live) {
      const info = timers.infoOf(tm);
      const ms = info.details?.delayMs;
      // A computed delay (`30 * 60e3 * (1 + Math.random())`) is shown to the millisecond; delayMs keeps it exact.
      const label = `${info.type === 'interval' ? 'setInterval' : 'setTimeout'} ${typeof ms === 'number' && ms >= 1 ? Math.round(ms) : ms} ms`;
      if (!info.id) info.id = newId('tm');
      // Only formatting a stack costs; unsampled timers are always listed.
      if (info.site) {
        if (formatted >= SITE_BUDGET) {
          if (tm.hasRef()) unresolvedTimers++;
          continue;
        }
        formatted++;
      }
      const d = { ...ctx.describe(tm, { ...info, label }), id: info.id, ref: tm.hasRef() };
      // A timeout fires its delay after it was last armed: a refresh() moves that, and the
      // analysis reads createdAt + delayMs as when it would fire.
      if (info.type === 'timeout') {
        const armed = timers.armedAt(tm);
        if (armed !== undefined) d.createdAt = armed;
      }
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
    for (const w of liveWorkers) handles.push(ctx.describe(w, w[kInfo]!));
    // Whatever Node knows is alive that we could not name: counted by type, never hidden.
    const counts = userResourceCounts();
    for (const h of handles) {
      if (!h.ref) continue;
      const name = h.type === 'socket' && h.details?.accepted ? 'TCPSocketWrap' : RESOURCE_NAME[h.type];
      if (name && counts.has(name)) counts.set(name, counts.get(name)! - 1);
    }
    if (unresolvedTimers) counts.set('Timeout', (counts.get('Timeout') || 0) - unresolvedTimers);
    // Timeouts still unnamed: node:timers/promises made them, out of the setTimeout hook's sight.
    const unnamedTimeouts = counts.get('Timeout') || 0;
    if (unnamedTimeouts > 0) {
      const held = promiseTimers.holding(unnamedTimeouts);
      for (const { handle, source } of held) {
        handles.push(handle);
        objects.set(handle, source);
      }
      counts.set('Timeout', unnamedTimeouts - held.length);
    }
    // Owners last: a library's own `await setTimeout()` (pg-boss's polling sleep) is tied to it too.
    guard('owners', () => attachOwners(handles, objects));
    const unidentified: { type: string; count: number }[] = [];
    for (const [type, count] of counts) if (count > 0) unidentified.push({ type, count });
    if (unresolvedTimers) unidentified.push({ type: `Timeout (${unresolvedTimers} more timers; creation sites not resolved beyond the first ${SITE_BUDGET})`, count: unresolvedTimers });
    handles = collapse(handles);
    emit({ kind: 'snapshot', t, reason, handles, unidentified });
  }

  return { snapshot, userResourceCount };
}
