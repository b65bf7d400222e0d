/**
 * Kubernetes: the Service keeps routing to a terminating pod until the endpoint removal has
 * propagated (the lag), in parallel with preStop.
 */
import type { LauncherEvent } from '../trace';
import type { PlatformContext } from './session';

export class EndpointLag {
  constructor(readonly lagMs: number, private readonly ctx: PlatformContext) {}
  onEvent(_e: LauncherEvent): void {}
  close(): void {}
}
