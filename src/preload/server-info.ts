/**
 * What the preload says about a server: its id, address, kind ("HTTP", "TLS"…) and the
 * connections it accepted, read from the objects Node already keeps.
 */
import type { Socket as NetSocket } from 'net';
import type { PreloadContext } from './context';

export interface ServerInfo {
  /** The server's id, given at first sight. */
  serverId(s: object): string;
  /** The id of a server seen before, without giving one. */
  knownServerId(s: object): string | undefined;
  addressOf(a: unknown): string;
  serverProto(s: Record<string, unknown>): 'http' | 'https' | 'net' | 'tls';
  /** "HTTP", "HTTPS", "HTTP/2", "TLS", "NET": what a user calls the server. */
  serverKind(s: object): string;
  /** Accepted connections of a server, found without tracking each connection on the hot path. */
  connectionsOf(server: object): NetSocket[];
  /** An HTTP connection whose response is not finished. */
  inRequest(s: NetSocket): boolean;
}

export function createServerInfo(ctx: PreloadContext): ServerInfo {
  const net = require('net') as typeof import('net');
  const serverIds = new WeakMap<object, string>();
  const serverId = (s: object) => {
    let id = serverIds.get(s);
    if (!id) serverIds.set(s, (id = ctx.newId('srv')));
    return id;
  };
  const addressOf = (a: unknown): string => {
    if (!a) return '?';
    if (typeof a === 'string') return a;
    const o = a as { address: string; port: number; family?: string };
    return o.family === 'IPv6' ? `[${o.address}]:${o.port}` : `${o.address}:${o.port}`;
  };
  const serverProto = (s: Record<string, unknown>): 'http' | 'https' | 'net' | 'tls' => {
    const secure = typeof s.addContext === 'function';
    const http = 'maxHeadersCount' in s;
    return http ? (secure ? 'https' : 'http') : secure ? 'tls' : 'net';
  };
  const serverKind = (s: object) => {
    const name = (s as { constructor?: { name?: string } }).constructor?.name;
    if (name === 'Http2Server') return 'HTTP/2';
    if (name === 'Http2SecureServer') return 'HTTP/2 (TLS)';
    return serverProto(s as never).toUpperCase();
  };
  const connectionsOf = (server: object): NetSocket[] => {
    // net.Server counts its open connections: with none, there is nothing to look for in every
    // active handle of the process (a service that opens and closes many servers calls this each time).
    if ((server as { _connections?: unknown })._connections === 0) return [];
    const out: NetSocket[] = [];
    for (const h of (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles()) {
      if (h instanceof net.Socket && (h as unknown as { server?: object }).server === server) out.push(h);
    }
    return out;
  };
  const inRequest = (s: NetSocket): boolean => {
    const res = (s as unknown as { _httpMessage?: { writableFinished?: boolean; finished?: boolean } })._httpMessage;
    return !!res && !res.writableFinished;
  };
  return { serverId, knownServerId: (s) => serverIds.get(s), addressOf, serverProto, serverKind, connectionsOf, inRequest };
}
