/** Client sockets: the creation site at connect (the tool's own socket is made with ctx.ownConnect set). */
import type { Socket as NetSocket } from 'net';
import { now } from './clock';
import { captureSite } from './site';
import { disguise } from './native-look';
import { kInfo, type PreloadContext, type Tracked } from './context';

export function installClientSockets(ctx: PreloadContext, wantSite: (live: number) => boolean): void {
  const net = require('net') as typeof import('net');
  const SocketProto = net.Socket.prototype as unknown as Record<string, Function>;
  const origConnect = SocketProto.connect;
  let liveClientSockets = 0;
  const onClientSocketClose = () => liveClientSockets--;
  SocketProto.connect = function connect(this: NetSocket & Tracked) {
    if (!ctx.ownConnect && !this[kInfo]) {
      try {
        const sampled = wantSite(liveClientSockets);
        this[kInfo] = { id: ctx.newId('sock'), type: 'socket', site: sampled ? captureSite(connect) : undefined, createdAt: now(), details: sampled ? undefined : { siteSampled: false } };
        liveClientSockets++;
        this.once('close', onClientSocketClose);
      } catch {}
    }
    // eslint-disable-next-line prefer-rest-params
    return origConnect.apply(this, arguments);
  };
  ctx.guard('disguise', () => disguise(SocketProto.connect, origConnect));
}
