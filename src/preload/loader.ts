/**
 * The file NODE_OPTIONS requires (dist/preload.js). It carries the preload's code as text and
 * compiles it with V8's code cache, so that a traced process does not parse and compile the
 * preload's functions on its start-up path, only deserializes them.
 *
 * The cache is one file per preload build, copy of it, Node version and architecture, in a directory the
 * launcher creates for the user alone and names in SHUTDOWN_TRACE_CODE_CACHE. A cache file is
 * code that V8 runs, so it is used only when it belongs to the process's own user and nobody
 * else can write to it. A missing or rejected cache (another V8, other V8 flags) is written
 * once, by the preload, 2 s after it started or at exit if that comes first; from then on it
 * is read.
 *
 * Everything here is guarded: with no cache, or any error, the code compiles as it would
 * without one.
 */
import { ENV } from '../shared/wire';
import type { LoaderHooks } from './loader-hooks';

declare const PRELOAD_BODY_HASH: string;
const LOADED = Symbol.for('shutdown-trace.preload.loaded');
const MAX_CACHE_BYTES = 16 * 1024 * 1024;

function load(): void {
  if ((globalThis as Record<symbol, unknown>)[LOADED]) return;
  const source = require('shutdown-trace:preload-body-source') as string;
  const fs = require('fs') as typeof import('fs');
  const path = require('path') as typeof import('path');
  const vm = require('vm') as typeof import('vm');
  // Taken now, before user code can patch fs (graceful-fs, mock-fs): the write happens at exit.
  const { openSync, fstatSync, readFileSync, closeSync, writeFileSync, renameSync, unlinkSync } = fs;

  const dir = process.env[ENV.codeCache];
  // Per preload file too: V8 keeps the script name it was cached under, so a cache written by
  // another copy of the same build (the CLI's and the extension's) would name that copy in
  // stack frames, which the preload then would not know for its own.
  const cacheFile = dir && path.isAbsolute(dir) ? path.join(dir, `preload-${PRELOAD_BODY_HASH}-${fnv1a(__filename)}-${process.version}-${process.arch}.v8cache`) : undefined;
  let cachedData: Buffer | undefined;
  if (cacheFile) {
    try {
      const fd = openSync(cacheFile, 'r');
      try {
        const st = fstatSync(fd);
        const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
        if (st.isFile() && st.size <= MAX_CACHE_BYTES && (uid === undefined || (st.uid === uid && (st.mode & 0o022) === 0))) cachedData = readFileSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {}
  }

  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: __filename, cachedData });
  let saved = false;
  const hooks: LoaderHooks = {
    saveCodeCache() {
      if (saved || !cacheFile || (cachedData && !script.cachedDataRejected)) return;
      saved = true;
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, script.createCachedData(), { mode: 0o600, flag: 'wx' });
        renameSync(tmp, cacheFile);
      } catch {
        try {
          unlinkSync(tmp);
        } catch {}
      }
    },
  };
  const body = { exports: {} as { start?: (hooks: LoaderHooks) => void } };
  (script.runInThisContext() as Function)(body.exports, require, body, __filename, __dirname);
  if (typeof body.exports.start === 'function') body.exports.start(hooks);
}

try {
  load();
} catch {}

/** A short hash of a string (FNV-1a, 32 bits, hex): what tells apart two copies' cache files. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
