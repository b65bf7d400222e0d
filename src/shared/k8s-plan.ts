/**
 * The signal plan of a Kubernetes run: the plan's `when` starts the termination; the stop
 * signal goes to the main process only, once (no second signal, as the kubelet sends it),
 * and the grace period is terminationGracePeriodSeconds. The one place this override is
 * written; the CLI, the extension and the launcher all apply it. Browser-safe.
 */
import type { SignalPlan } from './trace';
import type { K8sPlan } from './kubernetes';

/** The plan a Kubernetes run uses, with one note for each thing of `plan` it did not keep. */
export function k8sSignalPlan(plan: SignalPlan, k: K8sPlan): { plan: SignalPlan; notes: string[] } {
  const notes: string[] = [];
  if (plan.delivery === 'group') notes.push('the signal goes to the main process only with Kubernetes termination, as the kubelet sends it (delivery "group" not used)');
  if (plan.second) notes.push(`no second signal with Kubernetes termination: the kubelet sends ${k.stopSignal} once, then SIGKILL (${plan.second.signal} not sent)`);
  const { second: _second, ...rest } = plan;
  void _second;
  return { plan: { ...rest, signal: k.stopSignal, graceMs: k.graceSeconds * 1000, delivery: 'main' }, notes };
}
