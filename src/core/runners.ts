/**
 * Runners: the programs around a service (tsx's and nodemon's CLIs, npm and npx, ts-node's
 * wrapper…). Their own handles, exits and re-sent signals are not the user's, and the verdict
 * is about the service they start. Told apart by what a process runs, not by a list of names:
 * a node process whose main script lives in node_modules (or npm's own title), and which
 * started a traced node process that runs the user's code, is a runner.
 */
import type { ProcessInfo } from '../shared/trace';
import { NODE_OPTIONS_WITH_VALUE } from './node-options';

/**
 * The program a command line runs: for `node [options] script`, the script; for anything else
 * (a shebang CLI such as node_modules/.bin/tsx, or npm), the command itself.
 */
export function scriptOf(command: string): string | undefined {
  return scriptOfWords(wordsOf(command));
}

function scriptOfWords(parts: string[]): string | undefined {
  if (!parts.length) return undefined;
  const base = parts[0].split('/').pop() ?? '';
  if (!/^(node|nodejs|node\d+)$/.test(base)) return parts[0];
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i];
    if (p.startsWith('-')) {
      if (NODE_OPTIONS_WITH_VALUE.has(p)) i++;
      continue;
    }
    return p;
  }
  return undefined;
}

/**
 * A package CLI's shebang (`#!/usr/bin/env node`) runs it as `/usr/bin/env node <cli>`: that is the
 * command line a process shows between the kernel's exec of env and env's exec of node, and the
 * one recorded when it was read then. The words of a command line, from those after env's own
 * options and assignments when it starts with env.
 */
function wordsOf(command: string): string[] {
  const parts = command.split(' ').filter(Boolean);
  if ((parts[0]?.split('/').pop() ?? '') !== 'env') return parts;
  let i = 1;
  while (i < parts.length && (parts[i].startsWith('-') || /^[A-Za-z_][A-Za-z0-9_]*=/.test(parts[i]))) i += ENV_OPTIONS_WITH_VALUE.has(parts[i]) ? 2 : 1;
  return i < parts.length ? parts.slice(i) : parts;
}
const ENV_OPTIONS_WITH_VALUE = new Set(['-u', '--unset', '-C', '--chdir']);

/** The process runs a package's code as its program: a CLI from node_modules, or npm/npx/pnpm/yarn. */
export function runsPackageCli(command: string): boolean {
  const parts = wordsOf(command);
  const base = (parts[0] ?? '').split('/').pop() ?? '';
  if (/^(npm|npx|pnpm|yarn|npm exec|corepack)$/.test(base)) return true;
  const script = scriptOfWords(parts);
  return !!script && /(^|[\\/])node_modules[\\/]/.test(script.replace(/^file:\/\//, ''));
}

export interface Roles {
  /** The process the verdict is about. */
  servicePid: number;
  /** pid → role, for every process that is one or the other. */
  roles: Map<number, 'service' | 'runner'>;
}

/**
 * When the launched process is a wrapper (not node, or a package CLI) with a traced descendant
 * that runs user code, that descendant is the service and every process between is a runner.
 */
export function classifyRoles(processes: ProcessInfo[], mainPid: number): Roles {
  const roles = new Map<number, 'service' | 'runner'>();
  const children = new Map<number, ProcessInfo[]>();
  for (const p of processes) {
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  /** Traced descendants in spawn order, breadth first. */
  const tracedBelow = (pid: number): ProcessInfo[] => {
    const out: ProcessInfo[] = [];
    const queue = [...(children.get(pid) ?? [])];
    const seen = new Set<number>();
    while (queue.length) {
      const p = queue.shift()!;
      if (seen.has(p.pid)) continue;
      seen.add(p.pid);
      if (p.traced) out.push(p);
      queue.push(...(children.get(p.pid) ?? []));
    }
    return out.sort((a, b) => (a.start ?? 0) - (b.start ?? 0));
  };
  const main = byPid.get(mainPid);
  // A wrapper is a program that is not node (sh -c, tini, dumb-init), or a package's CLI.
  if (!main || (main.traced && !runsPackageCli(main.command))) return { servicePid: mainPid, roles };
  const service = tracedBelow(mainPid).find((p) => !runsPackageCli(p.command));
  if (!service) return { servicePid: mainPid, roles };
  roles.set(service.pid, 'service');
  for (let p = byPid.get(service.ppid), i = 0; p && i < 16; p = byPid.get(p.ppid), i++) {
    roles.set(p.pid, 'runner');
    if (p.pid === mainPid) break;
  }
  const servicePid = service.pid;
  return { servicePid, roles };
}
