// Child processes for the bench: spawned in their own process group (so a whole tree can be
// SIGKILLed), tracked in one registry that is emptied on exit whatever happens, with bounded waits.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './build.mjs';

export const PRELOAD = path.join(ROOT, 'dist', 'preload.js');
const live = new Set();

/** Kill every child the bench started (process groups, SIGKILL). Idempotent. */
export function killAll() {
  for (const c of live) killTree(c);
  live.clear();
}
export function killTree(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {}
  }
}
process.on('exit', killAll);

/**
 * NODE_OPTIONS for a variant:
 *  plain — none; ours — our preload (the caller supplies the collector's port/token), with its code
 *  cache; ours-cold — the same without a code cache; standalone — our
 *  preload without a launcher, writing a spool file; why — why-is-node-running.
 */
export function variantEnv(variant, collector) {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  for (const k of Object.keys(env)) if (k.startsWith('SHUTDOWN_TRACE_')) delete env[k];
  if (variant === 'ours' || variant === 'ours-cold') {
    env.NODE_OPTIONS = `--require ${PRELOAD}`;
    env.SHUTDOWN_TRACE_PORT = String(collector.port);
    env.SHUTDOWN_TRACE_TOKEN = collector.token;
    // As the launcher runs it: with the preload's code cache (warmCodeCache); ours-cold without one, as on a first run.
    if (variant === 'ours') {
      fs.mkdirSync(CODE_CACHE_DIR, { recursive: true, mode: 0o700 });
      env.SHUTDOWN_TRACE_CODE_CACHE = CODE_CACHE_DIR;
    }
  } else if (variant === 'standalone') {
    // The preload without a launcher: events appended to a spool file (SHUTDOWN_TRACE_DIR).
    env.NODE_OPTIONS = `--require ${PRELOAD}`;
    env.SHUTDOWN_TRACE_DIR = STANDALONE_DIR;
  } else if (variant === 'why') {
    env.NODE_OPTIONS = '--import why-is-node-running/include';
  }
  return env;
}

/** The preload's V8 code cache for the ours variant, as the launcher keeps one per user (src/core/launcher/code-cache.ts). */
export const CODE_CACHE_DIR = path.join(ROOT, 'bench', '.build', 'code-cache');

/**
 * A fresh code cache, made as a user's first traced run makes it: one traced start-up of the
 * fixture, left running until the preload has written the cache. True when it was written.
 * `nodeFlags` are V8 flags of the runs to come: a code cache holds only for the flags it was made under.
 */
export async function warmCodeCache(fixture, env, nodeFlags = []) {
  fs.rmSync(CODE_CACHE_DIR, { recursive: true, force: true });
  fs.mkdirSync(CODE_CACHE_DIR, { recursive: true, mode: 0o700 });
  const child = spawnNode([...nodeFlags, fixture], { env });
  try {
    await waitForLine(child, /listening \d+/, 20000);
    for (let i = 0; i < 100; i++) {
      if (fs.existsSync(CODE_CACHE_DIR) && fs.readdirSync(CODE_CACHE_DIR).some((f) => f.endsWith('.v8cache'))) return true;
      await sleep(100);
    }
    return false;
  } finally {
    await stop(child);
  }
}

/** Where the standalone variant's spools go; emptied by the bench case that uses it. */
export const STANDALONE_DIR = path.join(ROOT, 'bench', '.build', 'spools');

/** Spawn `node <args>` (or a shell line when `shell` is given) in its own group, registered for cleanup. */
export function spawnNode(args, { env, shell } = {}) {
  const child = shell
    ? spawn('/bin/sh', ['-c', shell], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.stderrText = '';
  child.stderr.on('data', (d) => {
    if (child.stderrText.length < 20000) child.stderrText += d;
  });
  return child;
}

/** Resolves with the first stdout match of `re` (and the hrtime ms it was seen); rejects on exit or timeout. */
export function waitForLine(child, re, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d) => {
      const at = nowMs();
      buf += d;
      const m = re.exec(buf);
      if (m) {
        done();
        resolve({ match: m, at });
      }
    };
    const onExit = (code, sig) => {
      done();
      reject(new Error(`process exited (${code ?? sig}) before printing ${re}; stderr: ${child.stderrText.slice(0, 2000)}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re}; stdout so far: ${buf.slice(0, 500)}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

export function waitExit(child, timeoutMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, timeoutMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

export async function stop(child) {
  killTree(child);
  await waitExit(child, 3000);
}

export function nowMs() {
  return performance.now();
}

/** CPU time (user+system, ms) a process has used so far, from /proc; NaN elsewhere. */
export function cpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

/** Resident set size of a process in bytes, from /proc/PID/status (VmRSS). */
export function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
