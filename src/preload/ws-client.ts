/**
 * ws's WebSocket client, compiled on first use. The build carries it as text (scripts/build.mjs):
 * a string costs next to nothing to load, where ~100 kB of bundled functions would be parsed on
 * every traced process's start-up path. Its timers are the preload's own unref'd ones (passed
 * in: by the time it is compiled, the globals are the tool's wrappers), and it is compiled under
 * the preload's file name, so its frames are the tool's own in every stack the preload reads.
 */
import type WebSocket from 'ws';
import { setTimeout as ownSetTimeout, setInterval as ownSetInterval } from './own-timers';

let loaded: typeof WebSocket | undefined;

export function webSocketClient(): typeof WebSocket {
  if (loaded) return loaded;
  const source = require('shutdown-trace:ws-client-source') as string;
  const vm = require('vm') as typeof import('vm');
  const fn = vm.compileFunction(source, ['exports', 'require', 'module', 'setTimeout', 'setInterval'], { filename: __filename });
  const mod = { exports: {} as unknown };
  fn(mod.exports, require, mod, ownSetTimeout, ownSetInterval);
  loaded = mod.exports as typeof WebSocket;
  return loaded;
}
