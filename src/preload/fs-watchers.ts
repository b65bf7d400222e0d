/** fs.watch and fs.watchFile: the creation site and path of each watcher, and when it closes. */
import { now } from './clock';
import { captureSite } from './site';
import { disguise } from './native-look';
import { kInfo, type PreloadContext, type TrackInfo, type Tracked } from './context';
import type { HandleType } from '../shared/wire';

export function installFsWatchers(ctx: PreloadContext): void {
  const { emit, guard, newId } = ctx;
  const fs = require('fs') as typeof import('fs');
  const wrapWatch = (name: 'watch' | 'watchFile', type: HandleType) => {
    const orig = (fs as unknown as Record<string, Function>)[name];
    const wrapped = function (this: unknown, file: unknown) {
      const site = captureSite(wrapped);
      // eslint-disable-next-line prefer-rest-params
      const w = orig.apply(this, arguments);
      guard(name, () => {
        if (w && typeof w === 'object') {
          const p = String(file);
          const info: TrackInfo = { id: newId('fsw'), type, site, createdAt: now(), label: `fs.${name} ${p}`, details: { path: p } };
          (w as Tracked)[kInfo] = info;
          emit({ kind: 'handle-open', t: info.createdAt, handle: ctx.describe(w, info) });
          if (typeof (w as { once?: Function }).once === 'function') (w as import('fs').FSWatcher).once('close', () => emit({ kind: 'handle-close', t: now(), id: info.id }));
        }
      });
      return w;
    };
    Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(orig));
    (fs as unknown as Record<string, unknown>)[name] = disguise(wrapped, orig);
  };
  wrapWatch('watch', 'fs-watcher');
  wrapWatch('watchFile', 'stat-watcher');
}
