/**
 * systemd: KillMode=, SendSIGHUP=, FinalKillSignal=, TimeoutStopSec= (systemd.kill(5),
 * systemd.service(5)) and Type=notify's NOTIFY_SOCKET.
 */
import type { PlatformContext } from './session';
import type { SystemdOptions } from './types';

export class SystemdUnit {
  constructor(readonly opts: SystemdOptions, private readonly ctx: PlatformContext, private readonly deliver: (target: number, signal: string) => void) {}
  async prepare(_env: Record<string, string | undefined>): Promise<void> {}
  attach(_pid: number): void {}
  stop(target: number, signal: string): void {
    this.deliver(target, signal);
  }
  finalKill(_target: number): boolean {
    return false;
  }
  postpone(_fire: () => void): boolean {
    return false;
  }
  onMainExit(): void {}
  async afterMainExit(): Promise<void> {}
  close(): void {}
}
