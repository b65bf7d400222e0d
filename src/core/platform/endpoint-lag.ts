/**
 * Kubernetes: when a pod starts terminating, the kubelet's preStop/stop sequence and the
 * removal of the pod from the Service's endpoints run in parallel; until that removal has
 * propagated (the endpoint lag), the Service keeps sending new requests to the pod. Modelled:
 * traffic keeps coming for `lagMs` after termination began, then no new request is sent (in
 * flight ones go on); requests refused or reset in that window are lost (analysis). With a
 * preStop sleep at least as long as the lag the pod still serves them.
 */
import type { LauncherEvent } from '../../shared/trace';
import type { PlatformContext } from './session';
import type { PlatformEvent } from '../../shared/platform';

export class EndpointLag {
  private timer: NodeJS.Timeout | undefined;
  private endAt: number | undefined;

  constructor(
    readonly lagMs: number,
    private readonly ctx: PlatformContext,
  ) {}

  onEvent(e: LauncherEvent): void {
    if (e.kind !== 'termination-start' || this.endAt !== undefined) return;
    this.endAt = e.t + this.lagMs;
    this.timer = setTimeout(() => {
      this.ctx.stopNewRequests();
      this.ctx.event({
        kind: 'platform',
        t: this.ctx.now(),
        pid: 0,
        what: 'endpoints-removed',
        text: `The endpoint removal has propagated (${this.lagMs} ms after termination began): the Service sends no new requests here`,
      } as PlatformEvent);
    }, this.lagMs);
    this.timer.unref?.();
  }

  /** The pod ended inside the lag: the Service still routes here until its end, so the traffic goes on until then. */
  onMainExit(t: number): void {
    if (this.endAt !== undefined && this.endAt > t) this.ctx.loadTail(this.endAt - t + 50);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
