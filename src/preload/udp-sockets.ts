/** dgram sockets: the creation site at bind. */
import { now } from './clock';
import { captureSite } from './site';
import { disguise } from './native-look';
import { kInfo, type PreloadContext, type Tracked } from './context';

export function installUdpSockets(ctx: PreloadContext): void {
  const dgram = require('dgram') as typeof import('dgram');
  const DgramProto = dgram.Socket.prototype as unknown as Record<string, Function>;
  const origBind = DgramProto.bind;
  DgramProto.bind = function bind(this: Tracked) {
    if (!this[kInfo]) {
      try {
        this[kInfo] = { id: ctx.newId('udp'), type: 'udp', site: captureSite(bind), createdAt: now() };
      } catch {}
    }
    // eslint-disable-next-line prefer-rest-params
    return origBind.apply(this, arguments);
  };
  ctx.guard('disguise', () => disguise(DgramProto.bind, origBind));
}
