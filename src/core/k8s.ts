/**
 * Kubernetes pod termination, simulated as the kubelet does it:
 *
 *   1. the grace period (`terminationGracePeriodSeconds`) starts counting when termination
 *      begins, before the preStop hook;
 *   2. the preStop hook (sleep, exec or httpGet) runs; the kubelet waits for it at most the
 *      whole grace period;
 *   3. the kubelet subtracts the hook's run time *in whole seconds* (truncated) from the grace
 *      period and asks the runtime to stop the container with what is left, but never less than
 *      2 s (`minimumGracePeriodInSeconds`): the runtime sends STOPSIGNAL (SIGTERM unless the
 *      image or the container says otherwise) to the container's main process only, then
 *      SIGKILL when that time is up.
 *
 * So without a preStop hook the kill comes `grace` seconds after the signal; with a hook that
 * finishes in time it comes `grace` (up to 1 s more, from the truncation) after the hook
 * started; and with a hook still running at the grace deadline the signal is sent then and the
 * kill 2 s later: the one-off 2-second extension. (kubelet: kuberuntime_container.go,
 * killContainer and executePreStopHook.)
 *
 * The schedule is a pure function (unit-tested); the hook runners live here too.
 */
import { spawn } from 'child_process';
import { request } from 'undici';
import type { PreStop } from '../shared/kubernetes';

/** Resolves an httpGet target against the service's address ("127.0.0.1:8080", "[::]:8080"). */
export function resolveHttpGet(url: string, serviceAddress: string | undefined): string {
  if (/^https?:\/\//i.test(url)) return url;
  const m = /^:(\d+)(\/.*)?$/.exec(url);
  if (m) return `http://127.0.0.1:${m[1]}${m[2] ?? '/'}`;
  if (/^\d+(\/.*)?$/.test(url)) {
    const [port, ...rest] = url.split('/');
    return `http://127.0.0.1:${port}/${rest.join('/')}`;
  }
  const port = serviceAddress ? /:(\d+)$/.exec(serviceAddress)?.[1] : undefined;
  if (!port) throw new Error(`preStop httpGet ${url}: the service has not listened on a TCP port, so there is no port to send it to (give a full URL or :PORT/path)`);
  return `http://127.0.0.1:${port}${url.startsWith('/') ? url : '/' + url}`;
}

export interface HookResult {
  ok: boolean;
  error?: string;
  status?: number;
  exitCode?: number | null;
  /** The hook's output (exec) or response body (httpGet), last 2 KiB. */
  output?: string;
}

export interface RunningHook {
  done: Promise<HookResult>;
  /** The container stopped (killed, or exited): stop the hook, which ran inside it. */
  cancel(reason?: string): void;
  pid?: number;
}

const CUT = 'cut short: the container was killed';
const tail = (s: string) => (s.length > 2048 ? '…' + s.slice(-2048) : s);

/**
 * Starts a preStop hook. exec runs `sh -c COMMAND` in the service's directory and environment
 * (in its own process group, outside the traced tree); httpGet uses undici; sleep is a timer.
 * Like the kubelet, a failing hook is reported and the termination goes on.
 */
export function startPreStop(p: PreStop, o: { cwd: string; env: NodeJS.ProcessEnv; serviceAddress?: string }): RunningHook {
  if (p.action === 'sleep') {
    let timer: NodeJS.Timeout | undefined;
    let resolve!: (r: HookResult) => void;
    const done = new Promise<HookResult>((r) => (resolve = r));
    timer = setTimeout(() => resolve({ ok: true }), p.ms);
    return {
      done,
      cancel: (reason = CUT) => {
        if (timer) clearTimeout(timer);
        timer = undefined;
        resolve({ ok: false, error: reason });
      },
    };
  }
  if (p.action === 'exec') {
    const child = spawn('/bin/sh', ['-c', p.command], { cwd: o.cwd, env: o.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out = tail(out + d.toString('utf8'))));
    child.stderr!.on('data', (d: Buffer) => (out = tail(out + d.toString('utf8'))));
    let cancelled: string | undefined;
    const done = new Promise<HookResult>((resolve) => {
      child.once('error', (e) => resolve({ ok: false, error: `could not run the command: ${e.message}` }));
      child.once('close', (code, signal) => {
        if (cancelled) resolve({ ok: false, error: cancelled, exitCode: code, output: out || undefined });
        else if (code === 0) resolve({ ok: true, exitCode: 0, output: out || undefined });
        else resolve({ ok: false, exitCode: code, error: signal ? `killed by ${signal}` : `exited with code ${code}`, output: out || undefined });
      });
    });
    return {
      done,
      pid: child.pid,
      cancel: (reason = CUT) => {
        cancelled ??= reason;
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {}
      },
    };
  }
  // httpGet
  const controller = new AbortController();
  let cancelled = CUT;
  let url: string;
  try {
    url = resolveHttpGet(p.url, o.serviceAddress);
  } catch (e) {
    return { done: Promise.resolve({ ok: false, error: (e as Error).message }), cancel: () => undefined };
  }
  const done = (async (): Promise<HookResult> => {
    try {
      const res = await request(url, { method: 'GET', signal: controller.signal, headersTimeout: 0, bodyTimeout: 0, reset: true });
      const body = tail(await res.body.text());
      // The kubelet counts 2xx and 3xx as success.
      const ok = res.statusCode >= 200 && res.statusCode < 400;
      return { ok, status: res.statusCode, output: body || undefined, error: ok ? undefined : `HTTP ${res.statusCode}` };
    } catch (e) {
      if (controller.signal.aborted) return { ok: false, error: cancelled };
      const err = e as NodeJS.ErrnoException;
      return { ok: false, error: `${err.code ? err.code + ': ' : ''}${err.message}` };
    }
  })();
  return {
    done,
    cancel: (reason = CUT) => {
      cancelled = reason;
      controller.abort();
    },
  };
}
