/**
 * The preload's link to the collector. Rules it keeps:
 *  - its socket is unref'd from birth, so it never keeps the service alive;
 *  - events before the connection opens, or while it is down, wait in a bounded queue;
 *    overflow is counted and reported as a `dropped` event, never silent;
 *  - at exit, anything not surely written goes to a spool file the launcher merges,
 *    deduplicated by sequence number.
 */
import net = require('net');
import fs = require('fs');
import path = require('path');
import type WebSocket from 'ws';
import { now } from './clock';
import { TOKEN_HEADER, type PreloadEvent, type HelloMessage, type CollectorMessage } from '../shared/wire';
import { SpoolSink } from './spool-sink';
import { webSocketClient } from './ws-client';

const MAX_QUEUE = 10_000;
const RING_MAX_EVENTS = 2_000;
const RING_MAX_BYTES = 8 * 1024 * 1024;
const MAX_PAYLOAD = 64 * 1024 * 1024;

export interface TransportOptions {
  port: number;
  token: string;
  spoolDir?: string;
  hello: HelloMessage;
  onMessage: (m: CollectorMessage) => void;
  log: (msg: string) => void;
}

/** Where the preload's events go: the launcher's collector, or (standalone) a spool file. */
export interface Sink {
  readonly socket: net.Socket | undefined;
  /** True when connecting can wait for the main module (a network link); false for a spool file opened at once. */
  readonly connectsLater: boolean;
  connect(): void;
  send(ev: PreloadEvent): void;
  finish(): void;
  isOwnSocket(s: unknown): boolean;
}

/** The collector when a launcher runs the service; with only a standalone directory, a spool file there. */
export function openSink(o: Omit<TransportOptions, 'token'> & { token?: string; standaloneDir?: string; toolVersion: string }): Sink {
  if (o.port && o.token) return new Transport({ ...o, token: o.token });
  return new SpoolSink({ dir: o.standaloneDir!, hello: o.hello, toolVersion: o.toolVersion, log: o.log });
}

export class Transport implements Sink {
  private ws: WebSocket | undefined;
  private open = false;
  private seq = 0;
  private queue: string[] = [];
  private dropped = 0;
  /** Recently written lines, kept until we know the socket flushed them (for the exit spool). */
  private ring: string[] = [];
  private ringBytes = 0;
  socket: net.Socket | undefined;
  readonly connectsLater = true;

  constructor(private readonly opts: TransportOptions) {}

  connect(): void {
    const { port, token } = this.opts;
    // Compiled here, not at start: ws and the http client it loads stay off the service's start-up path.
    const WebSocketClass = webSocketClient();
    const ws = new WebSocketClass(`ws://127.0.0.1:${port}/`, {
      headers: { [TOKEN_HEADER]: token },
      perMessageDeflate: false,
      maxPayload: MAX_PAYLOAD,
      handshakeTimeout: 5000,
      createConnection: ((o: net.NetConnectOpts) => {
        const s = net.connect(o);
        s.unref();
        this.socket = s;
        return s;
      }) as never,
    });
    this.ws = ws;
    ws.on('open', () => {
      this.open = true;
      try {
        this.socket?.unref();
      } catch {}
      ws.send(JSON.stringify(this.opts.hello));
      const q = this.queue;
      this.queue = [];
      for (const line of q) this.write(line);
      this.flushDropped();
    });
    ws.on('message', (data) => {
      try {
        this.opts.onMessage(JSON.parse(String(data)) as CollectorMessage);
      } catch (e) {
        this.opts.log(`bad collector message: ${(e as Error).message}`);
      }
    });
    ws.on('error', (e) => this.opts.log(`collector connection error: ${e.message}`));
    ws.on('close', () => {
      this.open = false;
      this.opts.log('collector connection closed');
    });
    // The upgrade request's own timer (handshakeTimeout) must not hold the loop either.
    const req = (ws as unknown as { _req?: { on(e: string, f: (s: net.Socket) => void): void } })._req;
    req?.on('socket', (s) => s.unref());
  }

  send(ev: PreloadEvent): void {
    const line = JSON.stringify({ type: 'events', pid: process.pid, seq: this.seq++, events: [ev] });
    if (this.open) this.write(line);
    else this.enqueue(line);
  }

  private enqueue(line: string): void {
    if (this.queue.length >= MAX_QUEUE) {
      this.dropped++;
      return;
    }
    this.queue.push(line);
  }

  private flushDropped(): void {
    if (this.dropped === 0) return;
    const count = this.dropped;
    this.dropped = 0;
    this.send({ kind: 'dropped', t: now(), count });
  }

  private write(line: string): void {
    try {
      this.ws!.send(line);
    } catch (e) {
      this.opts.log(`send failed: ${(e as Error).message}`);
      this.enqueue(line);
      return;
    }
    this.ring.push(line);
    this.ringBytes += line.length;
    while (this.ring.length > RING_MAX_EVENTS || this.ringBytes > RING_MAX_BYTES) {
      this.ringBytes -= this.ring.shift()!.length;
    }
    // Once the socket has flushed everything, nothing in the ring is at risk any more.
    if (this.ws!.bufferedAmount === 0) {
      this.ring = [];
      this.ringBytes = 0;
    }
  }

  /** Called synchronously at exit: whatever is not surely on the wire goes to the spool file. */
  finish(): void {
    const unsure = this.open && this.ws && this.ws.bufferedAmount === 0 ? [] : this.ring;
    const lines = unsure.concat(this.queue);
    if (this.dropped > 0) lines.push(JSON.stringify({ type: 'events', pid: process.pid, seq: this.seq++, events: [{ kind: 'dropped', t: now(), count: this.dropped }] }));
    if (lines.length === 0 || !this.opts.spoolDir) return;
    try {
      const file = path.join(this.opts.spoolDir, `${process.pid}.ndjson`);
      fs.writeFileSync(file, JSON.stringify(this.opts.hello) + '\n' + lines.join('\n') + '\n');
    } catch (e) {
      this.opts.log(`spool write failed: ${(e as Error).message}`);
    }
  }

  isOwnSocket(s: unknown): boolean {
    return s !== undefined && s === this.socket;
  }
}
