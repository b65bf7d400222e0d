/**
 * The app's own signal and unhandledRejection listeners, wrapped as they are added: a signal's
 * arrival, each listener's start, end and settled promise. The tool adds no listener of its own
 * for either, which would change what Node does on that signal or rejection.
 */
import { now } from './clock';
import { captureSite, resolveSite } from './site';
import { disguise } from './native-look';
import { errText } from './guard';
import type { PreloadContext } from './context';
import type { ShutdownWatch } from './shutdown';

export function installSignalListeners(ctx: PreloadContext, shutdown: ShutdownWatch): void {
  const { emit, guard, newId, selfFile } = ctx;
  const armStall = shutdown.armStall;
  const os = require('os') as typeof import('os');
  const SIGNALS = new Set(Object.keys(os.constants.signals));
  const signalCount = new Map<string, number>();

  const recordSignal = (sig: string) =>
    guard('signal', () => {
      const nth = (signalCount.get(sig) || 0) + 1;
      signalCount.set(sig, nth);
      let total = 0;
      for (const n of signalCount.values()) total += n;
      emit({ kind: 'signal', t: now(), signal: sig, nth: total, listeners: process.listenerCount(sig) });
      shutdown.start();
      armStall();
    });

  const P = process as unknown as Record<string, Function>;
  const origOn = P.on;
  const origPrepend = P.prependListener;
  const origRemove = P.removeListener;
  const wrapSignalListener = (signal: string, fn: Function, once: boolean, skip: Function): Function => {
    const site = captureSite(skip);
    // Named so that, in a stack trace, the one frame the tool adds says what it is.
    const w = function shutdownTraceListener(this: unknown) {
      // One id per call: a listener run again by a second signal has its own start and end.
      const id = newId('l');
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
}
