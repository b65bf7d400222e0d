/**
 * How the process ends: beforeExit, exit, a call to process.exit() and an uncaught error, each
 * with the snapshot that shows what was still alive, and the sink's last write.
 */
import { now } from './clock';
import { captureSite, resolveSite } from './site';
import { disguise } from './native-look';
import { errText } from './guard';
import type { PreloadContext } from './context';
import type { Snapshots } from './snapshot';
import type { ShutdownWatch } from './shutdown';
import type { Sink } from './transport';
import type { SnapshotReason } from '../shared/wire';

export function installLifecycle(ctx: PreloadContext, snapshots: Snapshots, shutdown: ShutdownWatch, transport: Sink, afterExit: () => void): void {
  const { emit, guard, selfFile, processOn: origOn } = ctx;
  const snapshot = snapshots.snapshot;
  let exitCalled = false;
  let finished = false;
  const finish = (reason: SnapshotReason | undefined) => {
    if (finished) return;
    finished = true;
    if (reason) guard('final snapshot', () => snapshot(reason));
    shutdown.stop();
    guard('finish', () => transport.finish());
  };
  // Lifecycle through ordinary listeners, never by patching process.emit: Node binds signal
  // handlers to process.emit, so a patch would add a frame to every signal listener's stack.
  // 'exit' and 'beforeExit' listeners that schedule nothing change nothing.
  origOn.call(process, 'beforeExit', (code: number) => guard('beforeExit', () => emit({ kind: 'before-exit', t: now(), code: Number(code ?? 0) })));
  origOn.call(process, 'exit', (code: number) => {
    guard('exit', () => emit({ kind: 'exit', t: now(), code: Number(code ?? process.exitCode ?? 0) }));
    finish(exitCalled ? undefined : 'exit');
    // Last: the trace is written; what is left is the tool's own start-up cost for next time.
    guard('code cache', afterExit);
  });

  const P = process as unknown as Record<string, Function>;
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
}
