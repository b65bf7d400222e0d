/**
 * The preload without a launcher (SHUTDOWN_TRACE_DIR set, no collector): every event is
 * appended to this process's spool file as it happens, with one synchronous write, so what
 * happened before a SIGKILL or an OOM kill is on disk (nothing is buffered in memory). Rules:
 *  - never throws, never prints, holds no handle (no socket, no timer): it cannot keep the
 *    process alive;
 *  - bounded: SPOOL_MAX_BYTES, half of it kept for the shutdown; what does not fit is counted;
 *  - a missing directory is created; a directory that cannot be created or written, or a full
 *    disk, only costs the events, which are counted in the header's fixed-width counters,
 *    rewritten in place (that needs no new disk block);
 *  - at a clean exit, an `end` record, then (when the spool is small) the process's trace
 *    beside it, written whole or not at all, and the spool removed.
 */
import fs = require('fs');
import os = require('os');
import path = require('path');
import { now } from './clock';
import type { PreloadEvent, HelloMessage } from '../shared/wire';
import { redactArgv, redactText } from '../core/redact';
import {
  SPOOL_FORMAT,
  SPOOL_VERSION,
  SPOOL_SUFFIX,
  TRACE_SUFFIX,
  SPOOL_MAX_BYTES,
  SPOOL_BEFORE_SHUTDOWN_BYTES,
  TRACE_AT_EXIT_MAX_BYTES,
  RECORDED_ENV,
  fixedCounters,
  parseSpool,
  assembleTrace,
  NOT_IN_TRACE,
  type SpoolHeader,
  type SpoolCounters,
} from '../core/spool-format';

/** From these on, the shutdown is under way: the second half of the spool is theirs. */
const SHUTDOWN_KINDS = new Set(['signal', 'exit-call', 'before-exit', 'exit', 'error']);
/** An unchanged live-handle count is a heartbeat: once a second for a minute after real activity, then once a minute. */
const HEARTBEAT_FAST_MS = 1000;
const HEARTBEAT_SLOW_MS = 60_000;
const ACTIVITY_WINDOW_MS = 60_000;

export interface SpoolSinkOptions {
  dir: string;
  hello: HelloMessage;
  toolVersion: string;
  log: (msg: string) => void;
}

function readSmall(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

export class SpoolSink {
  /** No socket: nothing of ours for the snapshot to hide. */
  readonly socket = undefined;
  /** Opened at once, so that events from the first tick survive a SIGKILL. */
  readonly connectsLater = false;
  file: string | undefined;
  private fd = -1;
  private pos = 0;
  private seq = 0;
  private countersAt = -1;
  private readonly counters: SpoolCounters = { dropped: 0, ioErrors: 0 };
  private shutdown = false;
  private torn = false;
  private exitSeen = false;
  private waitingForExit = false;
  private closed = false;
  private lastWriteAt = 0;
  private lastActivityAt = 0;
  private lastCount = -1;
  private base = '';

  constructor(private readonly o: SpoolSinkOptions) {
    try {
      this.open();
    } catch (e) {
      this.fail(e);
    }
  }

  private open(): void {
    const dir = path.resolve(this.o.dir);
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch {}
    const wallMs = Date.now();
    const mono = now();
    const host = os.hostname();
    this.base = `${host.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || 'host'}-${process.pid}-${wallMs}`;
    const env: Record<string, string> = {};
    for (const k of RECORDED_ENV) {
      const v = process.env[k];
      if (typeof v === 'string' && v) env[k] = v.slice(0, 2048);
    }
    let bootId: string | undefined;
    let sid: number | undefined;
    if (process.platform === 'linux') {
      bootId = readSmall('/proc/sys/kernel/random/boot_id')?.trim() || undefined;
      const stat = readSmall('/proc/self/stat');
      // pid (comm) state ppid pgrp session …: comm may hold spaces and parentheses.
      const after = stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ') : [];
      const s = Number(after[3]);
      if (Number.isSafeInteger(s) && s > 0) sid = s;
    }
    const header: Omit<SpoolHeader, 'counters'> = {
      type: 'spool',
      format: SPOOL_FORMAT,
      version: SPOOL_VERSION,
      hello: this.o.hello,
      host,
      bootId,
      sid,
      platform: `${process.platform}-${process.arch}`,
      wallMs,
      mono,
      env,
      maxBytes: SPOOL_MAX_BYTES,
    };
    const head = JSON.stringify(header).slice(0, -1) + ',"counters":';
    const text = head + fixedCounters(this.counters) + '}\n';
    let file = path.join(dir, this.base + SPOOL_SUFFIX);
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx', 0o640);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      this.base += `-${Math.random().toString(36).slice(2, 8)}`;
      file = path.join(dir, this.base + SPOOL_SUFFIX);
      fd = fs.openSync(file, 'wx', 0o640);
    }
    this.fd = fd;
    this.file = file;
    const buf = Buffer.from(text);
    const n = fs.writeSync(fd, buf, 0, buf.length, 0);
    this.pos = n;
    if (n < buf.length) {
      // A header cut by a full disk: the file cannot be read; keep nothing.
      this.ioError();
      this.abandon();
      return;
    }
    this.countersAt = Buffer.byteLength(head);
  }

  private fail(e: unknown): void {
    this.counters.ioErrors++;
    this.o.log(`spool: ${(e as Error)?.message ?? e}`);
    this.abandon();
  }

  /** No usable file: events are only counted from now on. */
  private abandon(): void {
    if (this.fd >= 0) {
      try {
        fs.closeSync(this.fd);
      } catch {}
      if (this.countersAt < 0 && this.file) {
        try {
          fs.unlinkSync(this.file);
        } catch {}
      }
    }
    this.fd = -1;
  }

  connect(): void {}

  isOwnSocket(_s: unknown): boolean {
    return false;
  }

  send(ev: PreloadEvent): void {
    try {
      if (this.closed || NOT_IN_TRACE.has(ev.kind)) return;
      if (ev.kind === 'exit') this.exitSeen = true;
      if (SHUTDOWN_KINDS.has(ev.kind)) this.shutdown = true;
      if (ev.kind === 'active-count') {
        if (this.quietHeartbeat(ev.t, ev.count)) return;
      } else this.lastActivityAt = ev.t;
      const line = JSON.stringify({ type: 'events', pid: process.pid, seq: this.seq++, events: [ev] }) + '\n';
      if (this.append(line, this.shutdown ? SPOOL_MAX_BYTES : SPOOL_BEFORE_SHUTDOWN_BYTES)) this.lastWriteAt = ev.t;
      else this.drop();
    } catch (e) {
      this.o.log(`spool send: ${(e as Error)?.message ?? e}`);
    }
  }

  /** True when an unchanged count need not be written now. */
  private quietHeartbeat(t: number, count: number): boolean {
    const changed = count !== this.lastCount;
    this.lastCount = count;
    if (changed) return false;
    const every = t - this.lastActivityAt < ACTIVITY_WINDOW_MS ? HEARTBEAT_FAST_MS : HEARTBEAT_SLOW_MS;
    return t - this.lastWriteAt < every;
  }

  private append(text: string, limit: number): boolean {
    if (this.fd < 0) return false;
    const buf = Buffer.from(this.torn ? '\n' + text : text);
    if (this.pos + buf.length > limit) return false;
    let n: number;
    try {
      n = fs.writeSync(this.fd, buf, 0, buf.length, this.pos);
    } catch (e) {
      this.ioError();
      this.o.log(`spool write: ${(e as Error)?.message ?? e}`);
      return false;
    }
    this.pos += n;
    if (n < buf.length) {
      // Part of a line reached the disk: the reader skips it; the next line starts afresh.
      this.torn = true;
      this.ioError();
      return false;
    }
    this.torn = false;
    return true;
  }

  private ioError(): void {
    this.counters.ioErrors++;
  }

  private drop(): void {
    this.counters.dropped++;
    this.writeCounters();
  }

  private writeCounters(): void {
    if (this.fd < 0 || this.countersAt < 0) return;
    try {
      fs.writeSync(this.fd, fixedCounters(this.counters), this.countersAt, 'utf8');
    } catch {}
  }

  /**
   * Called by the preload at exit, or earlier when an uncaught exception is about to end the
   * process: then the closing waits for the 'exit' event, which Node still emits (code 1).
   */
  finish(): void {
    try {
      if (this.exitSeen) return this.close();
      if (this.waitingForExit) return;
      this.waitingForExit = true;
      process.once('exit', () => {
        try {
          this.close();
        } catch {}
      });
    } catch {}
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.fd < 0) return;
    const end = { type: 'end', t: now(), ...this.counters };
    if (!this.append(JSON.stringify(end) + '\n', SPOOL_MAX_BYTES + 4096)) this.counters.dropped++;
    this.writeCounters();
    const size = this.pos;
    const clean = !this.torn && this.counters.ioErrors === 0;
    this.abandon();
    if (clean && size <= TRACE_AT_EXIT_MAX_BYTES) this.writeTrace();
  }

  /** The process's own trace, beside the spool: whole (temp file, rename) or not at all. */
  private writeTrace(): void {
    const spool = this.file!;
    const out = path.join(path.dirname(spool), this.base + TRACE_SUFFIX);
    const tmp = `${out}.tmp-${process.pid}`;
    try {
      const unit = parseSpool(fs.readFileSync(spool, 'utf8'), path.basename(spool));
      if (!unit) return;
      const trace = assembleTrace([unit], { toolVersion: this.o.toolVersion, graceMs: 30_000, redactArgv, redactText });
      fs.writeFileSync(tmp, JSON.stringify(trace), { mode: 0o640 });
      fs.renameSync(tmp, out);
      fs.unlinkSync(spool);
    } catch (e) {
      this.o.log(`spool trace: ${(e as Error)?.message ?? e}`);
      try {
        fs.unlinkSync(tmp);
      } catch {}
    }
  }
}
