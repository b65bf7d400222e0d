/**
 * Worker threads. Workers are not in _getActiveHandles(): they, and their ref state, are
 * tracked here. The Worker class is replaced by a subclass that presents itself as Worker.
 */
import { now } from './clock';
import { captureSite } from './site';
import { disguise } from './native-look';
import { kInfo, type PreloadContext, type TrackInfo, type Tracked } from './context';

export type LiveWorkers = Set<import('worker_threads').Worker & Tracked>;

export function installWorkers(ctx: PreloadContext, wt: typeof import('worker_threads')): LiveWorkers {
  const { emit, guard, newId } = ctx;
  const liveWorkers: LiveWorkers = new Set();
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
        emit({ kind: 'handle-open', t: info.createdAt, handle: ctx.describe(self, info) });
        self.once('exit', () => {
          liveWorkers.delete(self);
          emit({ kind: 'handle-close', t: now(), id: info.id });
        });
      });
    }
  }
  Object.defineProperty(TracedWorker, 'name', { value: 'Worker' });
  (wt as { Worker: unknown }).Worker = TracedWorker;
  guard('disguise', () => {
    disguise(WorkerProto.ref, origRef);
    disguise(WorkerProto.unref, origUnref);
    disguise(TracedWorker, OrigWorker);
  });
  return liveWorkers;
}
