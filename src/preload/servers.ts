/**
 * Servers: listen() records the creation site and reports the address once listening; close()
 * reports the connections and requests in progress, and starts following them.
 */
import type { Server as NetServer } from 'net';
import { now } from './clock';
import { captureSite, resolveSite, type SiteHolder } from './site';
import { packageOf } from './library-code';
import { isUserFile, type Site } from '../shared/frames';
import { disguise } from './native-look';
import { kInfo, type PreloadContext, type TrackInfo, type Tracked } from './context';
import { MAX_CLOSE_REMOTE_PORTS } from '../shared/wire';
import type { ServerInfo } from './server-info';
import type { RequestTracking } from './requests';

const userFrameOf = (s: Site | undefined) => (s && s.user >= 0 && isUserFile(s.frames[s.user].file) ? s.user : -1);

export function installServers(ctx: PreloadContext, servers: ServerInfo, requests: RequestTracking, creationSiteOf: (server: object) => SiteHolder | undefined): void {
  const { emit, guard, selfFile } = ctx;
  const { serverId, addressOf, serverProto, serverKind, connectionsOf, inRequest } = servers;
  const net = require('net') as typeof import('net');
  const ServerProto = net.Server.prototype as unknown as Record<string, Function>;
  const origListen = ServerProto.listen;
  let wrapHttpCloses = () => {};
  ServerProto.listen = function listen(this: NetServer & Tracked) {
    try {
      if (closeWrapped.size < 2) wrapHttpCloses();
      let site = captureSite(listen);
      const server = this;
      const info: TrackInfo = { id: serverId(server), type: 'server', site, createdAt: now() };
      // Listened in a later tick by a library (fastify's listen runs after its plugins load): the
      // user's line is where the server was made, by the library call the user made.
      const made = creationSiteOf(server);
      if (made && userFrameOf(resolveSite(site, selfFile)) < 0) {
        const m = resolveSite(made, selfFile);
        const u = userFrameOf(m);
        if (u >= 0) {
          info.site = site = made;
          const by = u > 0 ? packageOf(m!.frames[u - 1].file) : undefined;
          if (by) info.details = { madeBy: by };
        }
      }
      server[kInfo] = info;
      server.once('listening', () =>
        guard('listen', () => {
          const address = addressOf(server.address());
          info.label = `${serverKind(server)} server ${address}`;
          emit({ kind: 'listen', t: now(), server: info.id, proto: serverProto(server as never), address, site: resolveSite(site, selfFile) });
          emit({ kind: 'handle-open', t: info.createdAt, handle: ctx.describe(server, info) });
          server.once('close', () => emit({ kind: 'handle-close', t: now(), id: info.id }));
        }),
      );
    } catch {}
    // eslint-disable-next-line prefer-rest-params
    return origListen.apply(this, arguments);
  };

  const origClose = ServerProto.close;
  // http(s).Server#close closes idle connections before it calls net.Server#close, so the
  // bookkeeping runs in whichever close is entered first, once.
  let inClose = false;
  const recordClose = (server: NetServer & Tracked, skip: Function) => {
    guard('server close', () => {
      const sid = serverId(server);
      const t = now();
      const site = captureSite(skip);
      const conns = connectionsOf(server);
      let active = 0;
      for (const s of conns) if (inRequest(s)) active++;
      requests.start();
      // Which connections it had accepted: a client's connection that is not one of them was
      // still in the kernel's accept queue, and closing the listener resets it.
      const remotePorts: number[] = [];
      for (const s of conns) {
        const port = requests.watchConnection(sid, s);
        if (typeof port === 'number' && remotePorts.length < MAX_CLOSE_REMOTE_PORTS) remotePorts.push(port);
      }
      emit({ kind: 'server-close', t, server: sid, site: resolveSite(site, selfFile), connections: conns.length, active, inFlight: active, remotePorts });
      for (const s of conns) {
        const res = (s as unknown as { _httpMessage?: never; parser?: { incoming?: { method?: string; url?: string } } })._httpMessage;
        if (res && inRequest(s)) requests.watchResponse(sid, (res as { req?: { method?: string; url?: string } }).req || {}, res);
      }
      if (!closeWatched.has(server)) {
        closeWatched.add(server);
        server.once('close', () => emit({ kind: 'server-closed', t: now(), server: sid }));
      }
    });
  };
  const closeWatched = new WeakSet<object>();
  const wrapClose = (proto: Record<string, Function>, orig: Function) => {
    proto.close = disguise(function close(this: NetServer & Tracked) {
      const outer = !inClose;
      if (outer) {
        inClose = true;
        recordClose(this, close);
      }
      try {
        // eslint-disable-next-line prefer-rest-params
        return orig.apply(this, arguments);
      } finally {
        if (outer) inClose = false;
      }
    }, orig);
  };
  wrapClose(ServerProto, origClose);
  // http and https are wrapped at the first listen after each is loaded, not at start: loading
  // https (and tls with it) costs a service that never uses it several milliseconds. A server
  // cannot be closed with connections before it listened, so nothing is missed.
  const closeWrapped = new Set<string>();
  wrapHttpCloses = () => {
    const loaded = (process as unknown as { moduleLoadList?: string[] }).moduleLoadList;
    for (const mod of ['http', 'https']) {
      if (closeWrapped.has(mod) || (Array.isArray(loaded) && !loaded.includes(`NativeModule ${mod}`))) continue;
      closeWrapped.add(mod);
      guard(`${mod} close`, () => {
        const P2 = (require(mod) as { Server: { prototype: Record<string, Function> } }).Server.prototype;
        if (Object.prototype.hasOwnProperty.call(P2, 'close')) wrapClose(P2, P2.close);
      });
    }
  };
  // Presents itself as the method it replaced.
  guard('disguise', () => disguise(ServerProto.listen, origListen));
}
