/**
 * systemd findings (systemd.kill(5), systemd.service(5)): what KillMode= did to the unit's
 * processes, the notify messages, and a Type=notify unit that never sent READY=1.
 */
import type { Ctx } from './analysis';

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function systemdFindings(c: Ctx): void {
  const { trace, a, ix, of, platform } = c;
  const s = trace.meta.platformMode!.systemd!;
  const sent = of('signal-sent')[0];
  const unit = platform('unit-signal');
  const notes = platform('notify');
  const moved = platform('deadline-moved');
  const orphans = of('orphan');
  const mainPid = trace.meta.mainPid;
  const main = trace.processes.find((p) => p.pid === mainPid);
  const fmt = (t: number) => (!sent ? `${Math.round(t)} ms` : t >= sent.t ? `+${Math.round(t - sent.t)} ms` : `${Math.round(sent.t - t)} ms before ${sent.signal}`);

  if (s.type === 'notify') {
    const ready = notes.find((n) => n.message === 'READY=1');
    if (!ready) {
      a.findings.push({
        code: 'notify-not-ready',
        severity: 'error',
        title: 'Type=notify, but the service never sent READY=1',
        detail: `systemd keeps a Type=notify unit "activating" until it sends READY=1 on NOTIFY_SOCKET (sd_notify(3)); units ordered after it wait, and after TimeoutStartSec= (90 s by default) the start fails and the unit is stopped. ${notes.length ? `It sent: ${notes.map((n) => n.message).join(', ')}.` : 'It sent nothing on NOTIFY_SOCKET.'} Send READY=1 once it serves (systemd-notify --ready, or a datagram to $NOTIFY_SOCKET).`,
        evidence: ix(...notes),
      });
    }
  }
  if (!sent) return;
  const lines: string[] = [`KillMode=${s.killMode}: ${s.killSignal} to the main process (pid ${sent.target}) at ${Math.round(sent.t)} ms.`];
  for (const u of unit) lines.push(`${fmt(u.t)}: ${u.text}.`);
  for (const m of moved) lines.push(`${fmt(m.t)}: ${m.text}.`);
  if (notes.length) lines.push(`Notifications: ${notes.map((n) => `${n.message} at ${fmt(n.t)}`).join(', ')}.`);
  const killedOthers = unit
    .filter((u) => u.signal === s.finalKillSignal)
    .flatMap((u) => u.pids ?? [])
    .filter((p) => p !== mainPid);
  let severity: 'error' | 'warning' | 'info' = 'info';
  let title = `systemd stop, KillMode=${s.killMode}`;
  if (s.killMode === 'process' && orphans.length) {
    severity = 'error';
    title = `KillMode=process left ${plural(orphans.length, 'process', 'processes')} running after the main process exited`;
    lines.push(
      `Only the main process is signalled; ${orphans.map((o) => `${o.command} (pid ${o.pid})`).join(', ')} ${orphans.length === 1 ? 'was' : 'were'} still running when it had exited, and systemd would consider the unit stopped while they run on (systemd.kill(5) calls this "not recommended"). Shutdown Trace stopped them.`,
    );
  } else if (killedOthers.length) {
    severity = 'warning';
    title = `${plural(killedOthers.length, 'process', 'processes')} of the unit got ${s.finalKillSignal}${s.killMode === 'mixed' ? ' (KillMode=mixed)' : ''}`;
    lines.push(
      s.killMode === 'mixed'
        ? `With KillMode=mixed only the main process gets ${s.killSignal}; the rest of the unit gets ${s.finalKillSignal} as soon as the main process exits (or at TimeoutStopSec=), with no chance to clean up. Stop children from the main process's ${s.killSignal} handler.`
        : `They were still running when TimeoutStopSec=${s.timeoutStopMs / 1000}s passed.`,
    );
  }
  if (main?.exit?.signal && main.exit.signal === s.finalKillSignal && s.finalKillSignal !== 'SIGKILL') lines.push(`The main process died by FinalKillSignal=${s.finalKillSignal}.`);
  a.findings.push({ code: 'systemd-stop', severity, title, detail: lines.join(' '), evidence: ix(sent, ...unit, ...moved, ...notes, ...orphans) });
}
