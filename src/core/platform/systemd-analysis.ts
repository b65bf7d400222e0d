/** systemd findings: what KillMode= did, notify messages, a notify unit that never said READY=1. */
import type { Ctx } from './analysis';

export function systemdFindings(_c: Ctx): void {}
