/**
 * Connections and requests of the service's servers while it shuts down: how each connection
 * ended and whether a request was cut. Request-level tracking starts only when shutdown
 * starts: zero cost per request before it.
 */
import type { Socket as NetSocket } from 'net';
import { now } from './clock';
import type { PreloadContext } from './context';
import type { ServerInfo } from './server-info';

type Request = { method?: string; url?: string };
type Response = { once(e: string, f: () => void): void; statusCode: number; writableFinished?: boolean };

export interface RequestTracking {
  /** Ids of the accepted connections seen, for snapshots. */
  readonly connIds: WeakMap<object, string>;
  /** Returns the connection's remote port, when it has one. */
  watchConnection(sid: string, s: NetSocket): number | undefined;
  watchResponse(sid: string, req: Request, res: Response): void;
  /** From now on every request of a known server is followed. Idempotent. */
  start(): void;
}

export function createRequestTracking(ctx: PreloadContext, servers: ServerInfo): RequestTracking {
  const { emit, newId, guard } = ctx;
  const inRequest = servers.inRequest;
  const connIds = new WeakMap<object, string>();
  const reqIds = new WeakMap<object, string>();
  const watchedConns = new WeakSet<object>();
  const watchConnection = (sid: string, s: NetSocket): number | undefined => {
    if (watchedConns.has(s)) return s.remotePort;
    watchedConns.add(s);
    const conn = newId('conn');
    connIds.set(s, conn);
    const port = s.remotePort;
    const remote = `${s.remoteAddress}:${port}`;
    let how: 'client-closed' | 'server-ended' | 'destroyed' | 'error' = 'destroyed';
    const hadRequest = inRequest(s);
    s.once('end', () => (how = 'client-closed'));
    s.once('error', () => (how = 'error'));
    const origEnd = s.end;
    s.end = function (this: NetSocket) {
      if (how === 'destroyed') how = 'server-ended';
      // eslint-disable-next-line prefer-rest-params
      return origEnd.apply(this, arguments as never);
    } as typeof s.end;
    s.once('close', () => emit({ kind: 'conn-end', t: now(), server: sid, conn, remote, how, hadRequest: hadRequest || inRequest(s) }));
    return port;
  };
  const watchResponse = (sid: string, req: Request, res: Response) => {
    if (reqIds.has(res)) return;
    const id = newId('req');
    reqIds.set(res, id);
    const url = String(req.url || '/');
    emit({ kind: 'request-start', t: now(), server: sid, req: id, method: String(req.method || '?'), path: url.split('?')[0] });
    let ended = false;
    const end = (aborted: boolean) => {
      if (ended) return;
      ended = true;
      emit({ kind: 'request-end', t: now(), server: sid, req: id, status: res.statusCode, aborted });
    };
    res.once('finish', () => end(false));
    res.once('close', () => end(!res.writableFinished));
  };

  let requestTracking = false;
  const start = () => {
    if (requestTracking) return;
    requestTracking = true;
    guard('dc subscribe', () => {
      const dc = require('diagnostics_channel') as typeof import('diagnostics_channel');
      dc.subscribe('http.server.request.start', (m: unknown) =>
        guard('request', () => {
          const msg = m as { request: Request; response: never; server: object; socket: NetSocket };
          const sid = servers.knownServerId(msg.server);
          if (!sid) return;
          watchConnection(sid, msg.socket);
          watchResponse(sid, msg.request, msg.response);
        }),
      );
    });
  };
  return { connIds, watchConnection, watchResponse, start };
}
