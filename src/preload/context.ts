/**
 * What every concern of the preload shares: the event sink, ids, the tool's own guard, the
 * handle bookkeeping on tracked objects, originals captured before any hook replaced them, and
 * the flags one concern sets and another reads.
 */
import { resolveSite, type SiteHolder } from './site';
import { guard, log } from './guard';
import type { Sink } from './transport';
import type { PreloadEvent, HandleInfo, HandleType } from '../shared/wire';

/** Where the preload keeps what it knows about an object it tracks (a timer, server, child…). */
export const kInfo = Symbol('shutdown-trace.info');

export interface TrackInfo {
  id: string;
  type: HandleType;
  site?: SiteHolder;
  createdAt: number;
  label?: string;
  details?: Record<string, string | number | boolean>;
  ref?: boolean;
}
export type Tracked = { [kInfo]?: TrackInfo };

export interface PreloadContext {
  /** The preload bundle's own file: its frames are left out of every site. */
  readonly selfFile: string;
  emit(ev: PreloadEvent): void;
  guard(what: string, fn: () => void): void;
  log(msg: string): void;
  newId(prefix: string): string;
  /** A tracked object as a snapshot or handle-open event shows it. */
  describe(h: object, info: TrackInfo): HandleInfo;
  /** process.on as it was at start, for the tool's own lifecycle listeners (never wrapped). */
  readonly processOn: Function;
  /** Set at the first signal: timers get a creation site each from then on. */
  shuttingDown: boolean;
  /** True while the tool opens its own connection: client sockets made then are not tracked. */
  ownConnect: boolean;
}

export function createContext(selfFile: string, sink: Sink): PreloadContext {
  let nextId = 1;
  const newId = (p: string) => `${p}${nextId++}`;
  return {
    selfFile,
    emit: (ev) => guard('send', () => sink.send(ev)),
    guard,
    log,
    newId,
    describe: (_h, info) => ({
      id: info.id || (info.id = newId('h')),
      type: info.type,
      label: info.label || info.type,
      ref: info.ref ?? true,
      createdAt: info.createdAt,
      site: resolveSite(info.site, selfFile),
      details: info.details,
    }),
    processOn: (process as unknown as Record<string, Function>).on,
    shuttingDown: false,
    ownConnect: false,
  };
}
