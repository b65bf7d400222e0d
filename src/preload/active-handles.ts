/**
 * Names what process._getActiveHandles() lists: the tracked objects by what the preload
 * recorded, the rest (created before tracing, or by Node itself) by what can be read off them.
 */
import type { Socket as NetSocket, Server as NetServer } from 'net';
import { resolveSite, type SiteHolder } from './site';
import { kInfo, type PreloadContext, type Tracked } from './context';
import type { ServerInfo } from './server-info';
import type { RequestTracking } from './requests';
import type { Sink } from './transport';
import type { LiveWorkers } from './workers';
import type { HandleInfo } from '../shared/wire';

export function createActiveHandleDescriber(
  ctx: PreloadContext,
  servers: ServerInfo,
  requests: RequestTracking,
  transport: Sink,
  workers: LiveWorkers,
  stdinSite: () => SiteHolder | undefined,
): (h: unknown) => HandleInfo | undefined {
  const { newId, selfFile, describe } = ctx;
  const { serverId, serverKind, addressOf, connectionsOf, inRequest } = servers;
  const connIds = requests.connIds;
  const net = require('net') as typeof import('net');
  const cp = require('child_process') as typeof import('child_process');
  const dgram = require('dgram') as typeof import('dgram');
  const { MessagePort } = require('worker_threads') as typeof import('worker_threads');
  /** Is `port` one of a live Worker's own MessagePorts (how it talks to its thread)? */
  const isWorkerPort = (port: unknown): boolean => {
    for (const w of workers) {
      for (const sym of Object.getOwnPropertySymbols(w)) {
        if (Object.getOwnPropertyDescriptor(w, sym)?.value === port) return true;
      }
    }
    return false;
  };
  return function describeActiveHandle(h: unknown): HandleInfo | undefined {
    if (!h || typeof h !== 'object') return undefined;
    if (transport.isOwnSocket(h)) return undefined;
    // A part of its worker, which is listed itself: terminating the worker closes it.
    if (h instanceof MessagePort && isWorkerPort(h)) return undefined;
    const o = h as Record<string, unknown> & Tracked;
    const handleName = (o._handle as object | undefined)?.constructor?.name;
    // The stdio streams by their fd, not by reading process.stdin: that getter creates the stream
    // on first read, and with a pipe it is then an active handle, which this would report.
    const fd = (o._handle as { fd?: unknown } | undefined)?.fd ?? o.fd;
    if (fd === 1 || fd === 2) return undefined;
    if (fd === 0) return { id: 'stdin', type: handleName === 'Pipe' ? 'pipe' : 'socket', label: 'process.stdin is being read', ref: true, site: resolveSite(stdinSite(), selfFile) };
    const info = o[kInfo];
    if (h instanceof net.Server) {
      // close() was called: the listening handle is going away; its connections are reported themselves.
      if (!(h as unknown as { _handle: unknown })._handle) return undefined;
      const i = info || { id: serverId(h), type: 'server' as const, createdAt: undefined as unknown as number };
      return { ...describe(h, i), label: `${serverKind(h)} server ${addressOf(h.address())}`, details: { ...i.details, address: addressOf(h.address()), connections: connectionsOf(h).length } };
    }
    if (h instanceof cp.ChildProcess) {
      const i = info || { id: newId('cp'), type: 'child-process' as const, createdAt: undefined as unknown as number, label: `child process ${h.pid}` };
      return describe(h, i);
    }
    if (h instanceof net.Socket) {
      const s = h as NetSocket & { server?: object & Tracked; _type?: string };
      // A child's stdio pipe belongs to the child, which is reported itself.
      if (handleName === 'Pipe' && !info && !s.server) {
        return { id: newId('pipe'), type: 'pipe', label: 'pipe', ref: true };
      }
      if (s.server) {
        const srv = s.server[kInfo];
        const busy = inRequest(s);
        const isHttp = 'maxHeadersCount' in s.server;
        // An HTTP connection keeps its parser until it is upgraded (WebSocket, socket.io), which frees it.
        const upgraded = isHttp && !busy && !(s as unknown as { parser?: unknown }).parser;
        // A socket being torn down (process.exit) has lost its addresses: the server's stands in.
        const serverAddress = addressOf((s.server as unknown as NetServer).address?.());
        const local = s.localAddress ? `${s.localAddress}:${s.localPort}` : serverAddress;
        const where = s.remoteAddress ? `${local} ← ${s.remoteAddress}:${s.remotePort}` : `on ${serverAddress}`;
        return {
          id: connIds.get(s) || newId('conn'),
          type: 'socket',
          label: `${upgraded ? 'WebSocket connection' : 'connection'} ${where}${isHttp && !upgraded ? (busy ? ' (request in progress)' : ' (idle keep-alive)') : ''}`,
          ref: true,
          site: srv ? resolveSite(srv.site, selfFile) : undefined,
          details: {
            local,
            remote: s.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : '?',
            accepted: true,
            inRequest: busy,
            upgraded,
            bytesRead: s.bytesRead,
            bytesWritten: s.bytesWritten,
          },
        };
      }
      const i = info || { id: newId('sock'), type: 'socket' as const, createdAt: undefined as unknown as number };
      const remote = s.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : String(s.remotePort ?? '?');
      return {
        ...describe(h, i),
        type: handleName === 'Pipe' ? 'pipe' : 'socket',
        label: `socket ${s.localAddress ?? '?'}:${s.localPort ?? '?'} → ${remote}${s.connecting ? ' (connecting)' : ''}`,
        details: { ...(i.details || {}), local: `${s.localAddress}:${s.localPort}`, remote, bytesRead: s.bytesRead, bytesWritten: s.bytesWritten },
      };
    }
    if (h instanceof dgram.Socket) {
      const i = info || { id: newId('udp'), type: 'udp' as const, createdAt: undefined as unknown as number };
      let addr = '?';
      try {
        addr = addressOf(h.address());
      } catch {}
      return { ...describe(h, i), type: 'udp', label: `UDP socket ${addr}`, details: { address: addr } };
    }
    if (info) return describe(h, info);
    const name = (h as object).constructor?.name || 'handle';
    // A bare Pipe handle is an IPC channel (fork, cluster): the link between two processes, not a leak of either.
    if (name === 'Pipe')
      return {
        id: newId('ipc'),
        type: 'pipe',
        label: h === (process as unknown as { channel?: unknown }).channel ? 'IPC channel to the parent process' : 'IPC channel',
        ref: true,
        details: { ipc: true },
      };
    if (name === 'FSWatcher') return { id: newId('fsw'), type: 'fs-watcher', label: 'fs.watch (created before tracing)', ref: true, details: { predates: true } };
    if (name === 'StatWatcher') return { id: newId('fsw'), type: 'stat-watcher', label: 'fs.watchFile (created before tracing)', ref: true, details: { predates: true } };
    return { id: newId('h'), type: 'other', label: name, ref: true };
  };
}
