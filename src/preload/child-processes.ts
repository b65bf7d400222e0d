/** Child processes: the creation site and command of each spawn, and when the child exits. */
import { now } from './clock';
import { captureSite, resolveSite } from './site';
import { disguise } from './native-look';
import { kInfo, type PreloadContext, type TrackInfo, type Tracked } from './context';

export function installChildProcesses(ctx: PreloadContext): void {
  const { emit, guard, newId, selfFile } = ctx;
  const cp = require('child_process') as typeof import('child_process');
  const CPProto = cp.ChildProcess.prototype as unknown as Record<string, Function>;
  const origSpawn = CPProto.spawn;
  CPProto.spawn = function spawn(this: import('child_process').ChildProcess & Tracked, options: { file?: string; args?: string[] }) {
    const site = captureSite(spawn);
    // eslint-disable-next-line prefer-rest-params
    const r = origSpawn.apply(this, arguments);
    guard('spawn', () => {
      const child = this;
      const command = (options && Array.isArray(options.args) ? options.args : [String(options?.file)]).join(' ');
      const info: TrackInfo = {
        id: newId('cp'),
        type: 'child-process',
        site,
        createdAt: now(),
        label: `child process ${child.pid}: ${command.slice(0, 200)}`,
        details: { pid: child.pid ?? -1, command: command.slice(0, 1000) },
      };
      child[kInfo] = info;
      if (child.pid) {
        emit({ kind: 'spawn', t: now(), childPid: child.pid, command: command.slice(0, 1000), site: resolveSite(site, selfFile) });
        emit({ kind: 'handle-open', t: info.createdAt, handle: ctx.describe(child, info) });
        child.once('exit', () => emit({ kind: 'handle-close', t: now(), id: info.id }));
      }
    });
    return r;
  };
  guard('disguise', () => disguise(CPProto.spawn, origSpawn));
}
