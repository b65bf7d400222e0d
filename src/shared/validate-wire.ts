/**
 * Field-by-field validation of what the preload sends (src/core/protocol.ts). Every process of
 * the traced session holds the run's token, so any of them can speak to the collector: nothing
 * from the wire is used before it passed here. An invalid event is refused (the caller counts
 * it) and the run goes on. Unknown fields are tolerated and dropped; wrong types are refused.
 *
 * The same event checkers serve the trace-file validator (validate-trace.ts) in check mode.
 */
import { assertNever } from './assert-never';
import { PROTOCOL_VERSION, type HandleInfo, type HandleOwner, type HandleType, type PreloadEvent, type PreloadEventKind, type SnapshotReason, type HelloMessage } from './wire';
import type { Frame, Site } from './frames';
import { SchemaError, obj, str, num, int, count, bool, opt, oneOf, lit, either, list, record, checkAt, describe, named, type Checker, type Ctx } from './schema';

type Ev<K extends PreloadEventKind> = Extract<PreloadEvent, { kind: K }>;

export const frame = named('frame', obj<Frame>({ fn: opt(str), file: str, line: int, col: int, generated: opt(obj<{ file: string; line: number; col: number }>({ file: str, line: int, col: int })) }));

// The schema says user ≥ -1; that it indexes frames is checked below and only stated in the schema.
const userIndex = describe<Checker<number>>((v, cx) => int(v, cx), { type: 'integer', minimum: -1, description: '-1, or an index into frames' });
const siteShape = obj<Site>({ frames: list(frame), user: userIndex });
/** `user` indexes `frames` (or is -1): readers index with it. */
export const site: Checker<Site> = named(
  'site',
  describe(
    (v, cx) => {
      const s = siteShape(v, cx);
      if (s.user < -1 || s.user >= s.frames.length) throw new SchemaError('.user', `is not -1 or an index into frames (${s.frames.length})`);
      return s;
    },
    (emit) => emit(siteShape),
  ),
);

const HANDLE_TYPES: Record<HandleType, true> = {
  timeout: true,
  interval: true,
  immediate: true,
  server: true,
  socket: true,
  pipe: true,
  udp: true,
  'child-process': true,
  'fs-watcher': true,
  'stat-watcher': true,
  worker: true,
  other: true,
};
const SNAPSHOT_REASONS: Record<SnapshotReason, true> = { stalled: true, deadline: true, 'process-exit': true, exit: true, manual: true };

/** A detail value: string, number or boolean. A null (NaN or Infinity once through JSON) is dropped, not fatal. */
const detailValue: Checker<string | number | boolean> = describe(
  (v, cx) => {
    if (v === null) return undefined as never;
    if (typeof v === 'string') return str(v, cx);
    if (typeof v === 'number' || typeof v === 'boolean') return v;
    throw new SchemaError('', 'is not a string, number or boolean');
  },
  { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }, { type: 'null' }] },
);

export const handleOwner = named(
  'handle-owner',
  obj<HandleOwner>({
    id: str,
    name: str,
    package: opt(str),
    site: opt(site),
    via: oneOf('reachable', 'method-frame', 'package', 'source'),
    path: opt(str),
    release: opt(list(str)),
  }),
);

export const handleInfo = named(
  'handle',
  obj<HandleInfo>({
    id: str,
    type: oneOf(...(Object.keys(HANDLE_TYPES) as HandleType[])),
    label: str,
    ref: bool,
    createdAt: opt(num),
    site: opt(site),
    details: opt(record(detailValue)),
    owner: opt(handleOwner),
  }),
);

const SIGNAL = obj<Ev<'signal'>>({ kind: lit('signal'), t: num, signal: str, nth: count, listeners: count });
const LISTENER_START = obj<Ev<'listener-start'>>({ kind: lit('listener-start'), t: num, id: str, signal: str, site: opt(site), name: opt(str) });
const LISTENER_END = obj<Ev<'listener-end'>>({ kind: lit('listener-end'), t: num, id: str, signal: str, threw: opt(str), returnedPromise: bool });
const LISTENER_SETTLED = obj<Ev<'listener-settled'>>({ kind: lit('listener-settled'), t: num, id: str, signal: str, ok: bool, error: opt(str) });
const LISTEN = obj<Ev<'listen'>>({ kind: lit('listen'), t: num, server: str, proto: oneOf('http', 'https', 'net', 'tls'), address: str, site: opt(site) });
const SERVER_CLOSE = obj<Ev<'server-close'>>({ kind: lit('server-close'), t: num, server: str, site: opt(site), connections: count, active: count, inFlight: count, remotePorts: opt(list(count)) });
const SERVER_CLOSED = obj<Ev<'server-closed'>>({ kind: lit('server-closed'), t: num, server: str });
const CONN_END = obj<Ev<'conn-end'>>({ kind: lit('conn-end'), t: num, server: str, conn: str, remote: str, how: oneOf('client-closed', 'server-ended', 'destroyed', 'error'), hadRequest: bool });
const REQUEST_START = obj<Ev<'request-start'>>({ kind: lit('request-start'), t: num, server: str, req: str, method: str, path: str });
const REQUEST_END = obj<Ev<'request-end'>>({ kind: lit('request-end'), t: num, server: str, req: str, status: int, aborted: bool });
const PHASE_START = obj<Ev<'phase-start'>>({ kind: lit('phase-start'), t: num, id: str, name: str, auto: opt(bool) });
const PHASE_END = obj<Ev<'phase-end'>>({ kind: lit('phase-end'), t: num, id: str, error: opt(str) });
const EXIT_CALL = obj<Ev<'exit-call'>>({ kind: lit('exit-call'), t: num, code: opt(either(num, str)), site: opt(site) });
const BEFORE_EXIT = obj<Ev<'before-exit'>>({ kind: lit('before-exit'), t: num, code: num });
const EXIT = obj<Ev<'exit'>>({ kind: lit('exit'), t: num, code: num });
const ERROR = obj<Ev<'error'>>({ kind: lit('error'), t: num, origin: oneOf('uncaughtException', 'unhandledRejection'), message: str, stack: opt(str), site: opt(site) });
const HANDLE_OPEN = obj<Ev<'handle-open'>>({ kind: lit('handle-open'), t: num, handle: handleInfo });
const HANDLE_CLOSE = obj<Ev<'handle-close'>>({ kind: lit('handle-close'), t: num, id: str });
const SPAWN = obj<Ev<'spawn'>>({ kind: lit('spawn'), t: num, childPid: int, command: str, site: opt(site) });
const SNAPSHOT = obj<Ev<'snapshot'>>({
  kind: lit('snapshot'),
  t: num,
  reason: oneOf(...(Object.keys(SNAPSHOT_REASONS) as SnapshotReason[])),
  handles: list(handleInfo),
  unidentified: list(obj<{ type: string; count: number }>({ type: str, count: count })),
});
const ACTIVE_COUNT = obj<Ev<'active-count'>>({ kind: lit('active-count'), t: num, count: count });
const DROPPED = obj<Ev<'dropped'>>({ kind: lit('dropped'), t: num, count: count });
const OUTPUT = obj<Ev<'output'>>({ kind: lit('output'), t: num, stream: oneOf('stdout', 'stderr'), text: str });

/** Every kind the preload may send; a Record so that a kind missing here fails to compile. */
export const PRELOAD_KINDS: Readonly<Record<PreloadEventKind, true>> = {
  signal: true,
  'listener-start': true,
  'listener-end': true,
  'listener-settled': true,
  listen: true,
  'server-close': true,
  'server-closed': true,
  'conn-end': true,
  'request-start': true,
  'request-end': true,
  'phase-start': true,
  'phase-end': true,
  'exit-call': true,
  'before-exit': true,
  exit: true,
  error: true,
  'handle-open': true,
  'handle-close': true,
  spawn: true,
  snapshot: true,
  'active-count': true,
  dropped: true,
  output: true,
};

export function isPreloadKind(kind: unknown): kind is PreloadEventKind {
  return typeof kind === 'string' && Object.prototype.hasOwnProperty.call(PRELOAD_KINDS, kind);
}

/** The checker for one kind. Exhaustive: a new PreloadEvent kind without a case fails to compile. */
export function preloadEventChecker(kind: PreloadEventKind): Checker<PreloadEvent> {
  switch (kind) {
    case 'signal':
      return SIGNAL;
    case 'listener-start':
      return LISTENER_START;
    case 'listener-end':
      return LISTENER_END;
    case 'listener-settled':
      return LISTENER_SETTLED;
    case 'listen':
      return LISTEN;
    case 'server-close':
      return SERVER_CLOSE;
    case 'server-closed':
      return SERVER_CLOSED;
    case 'conn-end':
      return CONN_END;
    case 'request-start':
      return REQUEST_START;
    case 'request-end':
      return REQUEST_END;
    case 'phase-start':
      return PHASE_START;
    case 'phase-end':
      return PHASE_END;
    case 'exit-call':
      return EXIT_CALL;
    case 'before-exit':
      return BEFORE_EXIT;
    case 'exit':
      return EXIT;
    case 'error':
      return ERROR;
    case 'handle-open':
      return HANDLE_OPEN;
    case 'handle-close':
      return HANDLE_CLOSE;
    case 'spawn':
      return SPAWN;
    case 'snapshot':
      return SNAPSHOT;
    case 'active-count':
      return ACTIVE_COUNT;
    case 'dropped':
      return DROPPED;
    case 'output':
      return OUTPUT;
    default:
      return assertNever(kind);
  }
}

const COPY: Ctx = { copy: true };

/**
 * One event from the wire, checked field by field: a clean copy holding only the protocol's
 * fields, or a SchemaError naming the first bad one (`handles[1] is not an object`).
 */
export function validatePreloadEvent(v: unknown, cx: Ctx = COPY): PreloadEvent {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SchemaError('', 'is not an object');
  const kind = (v as { kind?: unknown }).kind;
  if (!isPreloadKind(kind)) throw new SchemaError('.kind', kind === undefined ? 'is missing' : 'is not a known event kind');
  return checkAt(preloadEventChecker(kind), v, '', cx);
}

/** Keeps the valid events of a list (clean copies); calls onBad with a reason for every other one. */
export function validEvents(events: unknown, onBad: (reason: string) => void, cx: Ctx = COPY): PreloadEvent[] {
  if (!Array.isArray(events)) {
    onBad('events is not a list');
    return [];
  }
  const good: PreloadEvent[] = [];
  for (let i = 0; i < events.length; i++) {
    try {
      good.push(validatePreloadEvent(events[i], cx));
    } catch (e) {
      if (!(e instanceof SchemaError)) throw e;
      onBad(`events[${i}]${e.path} ${e.problem}`);
    }
  }
  return good;
}

/** A hello as an older preload may send it: the fields after `pid` may be missing. */
// isWorker: sent by earlier preloads (always false); accepted and dropped.
type HelloWire = Pick<HelloMessage, 'type' | 'protocol' | 'pid'> & Partial<Omit<HelloMessage, 'type' | 'protocol' | 'pid'>> & { isWorker?: boolean };

const helloShape = obj<HelloWire>({
  type: lit('hello'),
  protocol: num,
  pid: int,
  ppid: opt(count),
  argv: opt(list(str)),
  node: opt(str),
  cwd: opt(str),
  t: opt(num),
  isWorker: opt(bool),
});

/**
 * A hello, checked field by field. Fields an older preload may leave out get defaults; a field
 * of the wrong type is refused. argv is kept to its first 500 elements.
 */
export function validateHello(v: unknown, cx: Ctx = COPY): HelloMessage {
  const h = checkAt(helloShape, v, '', cx);
  if (h.pid <= 0) throw new SchemaError('.pid', 'is not a process id');
  return {
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    pid: h.pid,
    ppid: h.ppid ?? 0,
    argv: (h.argv ?? []).slice(0, 500),
    node: h.node ?? '',
    cwd: h.cwd ?? '',
    t: h.t ?? 0,
  };
}
