/**
 * The status-bar item of a run: starting / running / signalled N s ago / the verdict.
 * Clicking it focuses the timeline panel.
 */
import * as vscode from 'vscode';
import { assertNever } from '../shared/assert-never';
import type { Analysis } from '../shared/trace';
import type { RunSession } from './session';
import { fmtMs } from './settings';
import { formatSeconds } from '../shared/duration';
import { headline } from '../shared/headline';

const HIDE_AFTER_FINISH_MS = 5 * 60_000;

export class RunStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private session?: RunSession;
  private timer?: NodeJS.Timeout;
  private hideTimer?: NodeJS.Timeout;
  private subs: vscode.Disposable[] = [];

  constructor() {
    this.item = vscode.window.createStatusBarItem('shutdownTrace.run', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'Shutdown Trace';
    this.item.command = 'shutdownTrace.showTimeline';
  }

  track(session: RunSession): void {
    this.untrack();
    this.session = session;
    this.subs.push(session.onDidEnd(() => this.render()));
    this.timer = setInterval(() => this.render(), 1000);
    this.render();
    this.item.show();
  }

  private untrack(): void {
    for (const s of this.subs) s.dispose();
    this.subs = [];
    if (this.timer) clearInterval(this.timer);
    if (this.hideTimer) clearTimeout(this.hideTimer);
    this.timer = undefined;
    this.hideTimer = undefined;
  }

  private render(): void {
    const s = this.session;
    if (!s) return;
    const label = s.request.label;
    this.item.backgroundColor = undefined;
    switch (s.state) {
      case 'starting':
        this.item.text = `$(loading~spin) Shutdown Trace: starting ${label}`;
        this.item.tooltip = `Starting ${label} with shutdown tracing. Click to show the timeline.`;
        return;
      case 'running': {
        const sig = s.signalInfo();
        const now = s.now;
        // With Kubernetes termination, preStop runs first and SIGKILL follows the kubelet's schedule.
        const k8s = s.trace?.meta.k8s;
        if (!sig && k8s?.startedAt !== undefined) {
          const ago = Math.max(0, now - k8s.startedAt);
          this.item.text = `$(zap) preStop ${formatSeconds(ago)} · ${label}`;
          this.item.tooltip = `${label}: pod termination began ${fmtMs(ago)} ago; preStop is running, then ${k8s.stopSignal} (terminationGracePeriodSeconds ${k8s.graceSeconds}, counted from the start of termination). Click to show the timeline.`;
          return;
        }
        if (sig) {
          const ago = Math.max(0, now - sig.t);
          const k8sKillAt = k8s?.startedAt !== undefined && k8s.schedule ? k8s.startedAt + k8s.schedule.killAtMs : undefined;
          const left = k8sKillAt !== undefined ? k8sKillAt - now : s.plan.graceMs - ago;
          this.item.text = `$(zap) ${sig.signal} ${formatSeconds(ago)} ago · ${label}`;
          const grace = k8sKillAt !== undefined ? `terminationGracePeriodSeconds ${k8s!.graceSeconds}, as the kubelet counts it` : `grace period ${fmtMs(s.plan.graceMs)}`;
          this.item.tooltip = `${label} got ${sig.signal} ${fmtMs(ago)} ago. ${left > 0 ? `SIGKILL in ${fmtMs(left)} (${grace}).` : 'The grace period is over.'} Click to show the timeline.`;
          if (left <= 0) this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
        } else {
          this.item.text = `$(pulse) Shutdown Trace: ${label} ${formatSeconds(now)}`;
          this.item.tooltip = `${label} is running; ${s.plan.when.mode === 'never' ? 'no signal is planned: use "Shutdown Trace: Send signal…"' : `${s.plan.signal} is planned`}. Click to show the timeline.`;
        }
        return;
      }
      case 'finished':
      case 'failed': {
        if (this.timer) clearInterval(this.timer);
        this.timer = undefined;
        const a = s.final?.analysis;
        const { icon, color } = verdictLook(a, s.state === 'failed');
        const verdict = s.state === 'failed' ? `failed: ${s.failure ?? 'unknown error'}` : (a?.verdict ?? 'finished');
        // The short headline; the whole verdict is in the tooltip.
        const short = s.state === 'failed' || !a ? verdict : headline(a, { signal: s.final?.meta.plan?.signal, complete: s.final?.meta.complete }).short;
        this.item.text = `${icon} ${label}: ${shorten(short, 60)}`;
        this.item.tooltip = `${verdict}\nClick to show the timeline.`;
        this.item.backgroundColor = color ? new vscode.ThemeColor(color) : undefined;
        if (!this.hideTimer) this.hideTimer = setTimeout(() => this.item.hide(), HIDE_AFTER_FINISH_MS);
        return;
      }
      default:
        assertNever(s.state);
    }
  }

  dispose(): void {
    this.untrack();
    this.item.dispose();
  }
}

function verdictLook(a: Analysis | undefined, failed: boolean): { icon: string; color?: string } {
  if (failed || !a) return { icon: '$(error)', color: 'statusBarItem.errorBackground' };
  if (a.findings.some((f) => f.severity === 'error')) return { icon: '$(error)', color: 'statusBarItem.errorBackground' };
  if (a.findings.some((f) => f.severity === 'warning')) return { icon: '$(warning)', color: 'statusBarItem.warningBackground' };
  return { icon: '$(pass)' };
}

function shorten(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}
