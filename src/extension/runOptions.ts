/**
 * "Run with options…": what to run, then the pickers (signal, delivery, when, grace period,
 * second signal, traffic, Kubernetes termination), each starting at the setting's value.
 */
import * as vscode from 'vscode';
import type { Delivery } from '../shared/trace';
import { assertNever } from '../shared/assert-never';
import { DURATION_EXAMPLES, parseDuration } from '../shared/duration';
import type { Controller } from './controller';
import type { RunRequest } from './session';
import { fmtMs, parsePreStopInput, SIGNALS, toPreStop, type K8sPreStopSetting, type RunOverrides, type RunSettings } from './settings';
import { commandRequest, fileRequest, launchRequest, scriptRequest } from './targets';

/** The command: pick what to run, then the options; runs it. */
export async function runWithOptions(c: Controller, context: vscode.ExtensionContext): Promise<unknown> {
  type Target = 'file' | 'script' | 'launch' | 'command' | 'last';
  const items: (vscode.QuickPickItem & { value: Target })[] = [];
  const active = vscode.window.activeTextEditor?.document;
  if (active && active.uri.scheme === 'file' && /^(javascript|typescript|javascriptreact|typescriptreact)$/.test(active.languageId)) {
    items.push({ label: '$(file-code) Active file', description: vscode.workspace.asRelativePath(active.uri), value: 'file' });
  }
  items.push({ label: '$(package) npm script…', value: 'script' }, { label: '$(debug-alt) Launch configuration…', value: 'launch' }, { label: '$(terminal) Command line…', value: 'command' });
  const last = context.workspaceState.get<{ label?: string }>('shutdownTrace.lastRun');
  if (last?.label) items.push({ label: '$(debug-restart) Last run', description: last.label, value: 'last' });
  const picked = await vscode.window.showQuickPick(items, { title: 'Run with options: what to run' });
  if (!picked) return undefined;

  let request: RunRequest | undefined;
  switch (picked.value) {
    case 'file':
      request = await fileRequest(active?.uri);
      break;
    case 'script':
      request = await scriptRequest();
      break;
    case 'launch':
      request = await launchRequest();
      break;
    case 'command':
      request = await commandRequest(context);
      break;
    case 'last': {
      const overrides = await c.pickOptions(undefined);
      return overrides ? c.rerun(overrides) : undefined;
    }
    default:
      return assertNever(picked.value);
  }
  if (!request) return undefined;
  const overrides = await c.pickOptions(request.folder);
  return overrides ? c.start(request, overrides) : undefined;
}

/** The pickers, each starting at the setting's value. Undefined when cancelled. */
export async function pickRunOptions(s: RunSettings): Promise<RunOverrides | undefined> {
  const total = 7;
  const signal = await pickStep<string>(
    'Signal',
    1,
    total,
    SIGNALS.map((sig) => ({ label: sig, value: sig })),
    s.signal,
  );
  if (signal === undefined) return undefined;
  const delivery = await pickStep<Delivery>(
    'Delivery',
    2,
    total,
    [
      { label: 'Main process', detail: 'Like Kubernetes and docker stop', value: 'main' },
      { label: 'Whole process group', detail: 'Like Ctrl+C in a terminal', value: 'group' },
    ],
    s.delivery,
  );
  if (delivery === undefined) return undefined;
  const signalWhen = await pickStep<RunSettings['signalWhen']>(
    'When',
    3,
    total,
    [
      { label: 'When it listens', detail: `${fmtMs(s.signalAfterMs)} after the service starts listening on a port`, value: 'listening' },
      { label: 'After a delay', detail: `${fmtMs(s.signalAfterMs)} after start`, value: 'after' },
      { label: 'Never by itself', detail: 'Send it with "Shutdown Trace: Send signal…", or let the service exit on its own', value: 'never' },
    ],
    s.signalWhen,
  );
  if (signalWhen === undefined) return undefined;
  const graces = [5000, 10000, 15000, 30000, 60000, 120000];
  if (!graces.includes(s.gracePeriodMs)) graces.push(s.gracePeriodMs);
  graces.sort((a, b) => a - b);
  let grace = await pickStep<number>(
    'Grace period before SIGKILL',
    4,
    total,
    [...graces.map((ms) => ({ label: fmtMs(ms), description: ms === 30000 ? 'Kubernetes default' : undefined, value: ms })), { label: 'Custom…', value: -1 }],
    s.gracePeriodMs,
  );
  if (grace === undefined) return undefined;
  if (grace === -1) {
    const v = await vscode.window.showInputBox({
      title: 'Grace period',
      prompt: `A duration, as the CLI's --grace takes it: ${DURATION_EXAMPLES} (a bare number is ms)`,
      value: String(s.gracePeriodMs),
      validateInput: (x) => (parseDuration(x) === undefined ? `A duration: ${DURATION_EXAMPLES}` : undefined),
    });
    if (v === undefined) return undefined;
    grace = parseDuration(v)!;
  }
  const second = await pickStep<string>(
    'Second signal while it shuts down',
    5,
    total,
    [
      { label: 'None', value: 'none' },
      { label: `${signal} again`, detail: `${fmtMs(s.secondSignalAfterMs)} after the first, like a supervisor re-sending`, value: signal },
      ...(signal !== 'SIGINT' ? [{ label: 'SIGINT', detail: `${fmtMs(s.secondSignalAfterMs)} after the first, like an impatient Ctrl+C`, value: 'SIGINT' }] : []),
    ],
    s.secondSignal === signal || s.secondSignal === 'SIGINT' ? s.secondSignal : 'none',
  );
  if (second === undefined) return undefined;
  // Traffic during shutdown.
  type Load = { loadRate: number; loadKeepAlive: boolean };
  const loadItems: (vscode.QuickPickItem & { value: Load })[] = [
    { label: 'No traffic', value: { loadRate: 0, loadKeepAlive: false } },
    {
      label: '20 requests/s, a new connection each',
      detail: `At ${s.loadPath} of the port the service listens on, from when it listens until it exits; lost requests are counted`,
      value: { loadRate: 20, loadKeepAlive: false },
    },
    { label: '50 requests/s, keep-alive', detail: 'Connections reused, as behind a load balancer or a proxy', value: { loadRate: 50, loadKeepAlive: true } },
    { label: '50 requests/s, a new connection each', value: { loadRate: 50, loadKeepAlive: false } },
  ];
  if (s.loadRate && !loadItems.some((i) => i.value.loadRate === s.loadRate && i.value.loadKeepAlive === s.loadKeepAlive)) {
    loadItems.push({ label: `${s.loadRate} requests/s${s.loadKeepAlive ? ', keep-alive' : ''}`, value: { loadRate: s.loadRate, loadKeepAlive: s.loadKeepAlive } });
  }
  const current = loadItems.find((i) => i.value.loadRate === s.loadRate && (s.loadRate === 0 || i.value.loadKeepAlive === s.loadKeepAlive))?.value ?? loadItems[0].value;
  const load = await pickStep<Load>('Traffic during shutdown', 6, total, loadItems, current);
  if (load === undefined) return undefined;
  const k8s = await pickK8s(s, signal, grace);
  if (k8s === undefined) return undefined;
  return { signal, delivery, signalWhen, gracePeriodMs: grace, secondSignal: second, ...load, ...k8s };
}

/**
 * Step 7: Kubernetes termination. The grace period above becomes terminationGracePeriodSeconds
 * (whole seconds) and the signal the stop signal; preStop from a short list, the settings, or typed.
 */
async function pickK8s(s: RunSettings, signal: string, graceMs: number): Promise<RunOverrides | undefined> {
  type K8s = { on: boolean; preStop: K8sPreStopSetting | 'custom' };
  const graceSeconds = Math.max(1, Math.ceil(graceMs / 1000));
  const graceNote =
    graceSeconds * 1000 === graceMs
      ? `terminationGracePeriodSeconds ${graceSeconds}`
      : `terminationGracePeriodSeconds ${graceSeconds} (the ${fmtMs(graceMs)} grace period, rounded up to whole seconds)`;
  const detail = `${graceNote}; ${signal} to the main process after preStop; SIGKILL on the kubelet's schedule (at least 2 s after the signal)`;
  const describe = (p: K8sPreStopSetting) => {
    const ps = toPreStop(p);
    return !ps ? 'no preStop' : ps.action === 'sleep' ? `preStop sleep ${fmtMs(ps.ms)}` : ps.action === 'exec' ? `preStop exec ${ps.command}` : `preStop httpGet ${ps.url}`;
  };
  const items: (vscode.QuickPickItem & { value: K8s })[] = [
    { label: 'Off', detail: 'A plain signal, as chosen above', value: { on: false, preStop: {} } },
    { label: 'As a Kubernetes pod, no preStop', detail, value: { on: true, preStop: {} } },
    { label: 'As a Kubernetes pod, preStop sleep 5 s', detail: `The usual fix for requests refused while endpoints update; ${detail}`, value: { on: true, preStop: { sleep: 5 } } },
  ];
  const settingPre = s.k8sPreStop;
  const settingItem =
    toPreStop(settingPre) && !(settingPre.sleep === 5)
      ? { label: `As a Kubernetes pod, ${describe(settingPre)}`, description: 'shutdownTrace.k8s.preStop', detail, value: { on: true, preStop: settingPre } }
      : undefined;
  if (settingItem) items.push(settingItem);
  items.push({ label: 'As a Kubernetes pod, another preStop…', detail: 'sleep SECONDS, exec COMMAND or httpGet /path', value: { on: true, preStop: 'custom' } });
  const current = !s.k8sEnabled ? items[0].value : settingItem ? settingItem.value : !toPreStop(settingPre) ? items[1].value : items[2].value;
  const picked = await pickStep<K8s>('Kubernetes termination', 7, 7, items, current);
  if (picked === undefined) return undefined;
  if (!picked.on) return { k8sEnabled: false };
  let preStop = picked.preStop;
  if (preStop === 'custom') {
    const v = await vscode.window.showInputBox({
      title: 'preStop hook',
      prompt: "sleep SECONDS, exec COMMAND (run with sh -c in the service's folder) or httpGet PATH (/drain on the service's port, :PORT/path or a URL); empty for none",
      value: toPreStop(settingPre) ? describe(settingPre).replace(/^preStop /, '') : 'sleep 5',
      ignoreFocusOut: true,
      validateInput: (x) => (parsePreStopInput(x) === undefined ? 'sleep 5, exec curl -s localhost:8080/drain, or httpGet /drain' : undefined),
    });
    if (v === undefined) return undefined;
    preStop = parsePreStopInput(v)!;
  }
  return { k8sEnabled: true, k8sGraceSeconds: graceSeconds, k8sStopSignal: signal, k8sPreStop: preStop };
}

async function pickStep<T>(title: string, step: number, totalSteps: number, items: (vscode.QuickPickItem & { value: T })[], current: T): Promise<T | undefined> {
  const qp = vscode.window.createQuickPick<vscode.QuickPickItem & { value: T }>();
  qp.title = `Run with options: ${title}`;
  qp.step = step;
  qp.totalSteps = totalSteps;
  qp.ignoreFocusOut = true;
  qp.items = items.map((i) => (i.value === current ? { ...i, description: [i.description, '(setting)'].filter(Boolean).join(' ') } : i));
  const active = qp.items.find((i) => i.value === current);
  if (active) qp.activeItems = [active];
  return new Promise<T | undefined>((resolve) => {
    let done = false;
    qp.onDidAccept(() => {
      done = true;
      resolve(qp.selectedItems[0]?.value ?? qp.activeItems[0]?.value);
      qp.hide();
    });
    qp.onDidHide(() => {
      if (!done) resolve(undefined);
      qp.dispose();
    });
    qp.show();
  });
}
