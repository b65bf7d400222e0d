/**
 * One clear message per problem: errors a user can act on are shown as they are; anything
 * unexpected is shown as one line, with the stack only in the "Shutdown Trace" output channel.
 */
import * as vscode from 'vscode';

/** A problem the user can fix (nothing open, no package.json, no launch configuration, ...). */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Errors whose message is written for users (by us, by the launcher, by parseTrace). */
const USER_FACING = new Set(['UserError', 'LaunchError', 'LaunchConfigError', 'CommandLineError', 'TraceFormatError']);

export function isUserFacing(e: unknown): e is Error {
  return e instanceof Error && USER_FACING.has(e.name);
}

export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** The last messages shown (newest last, at most 20): for the extension-host tests. */
export const recentErrors: string[] = [];
function show(message: string): void {
  recentErrors.push(message);
  if (recentErrors.length > 20) recentErrors.shift();
  void vscode.window.showErrorMessage(message);
}

export function reportError(e: unknown, log?: vscode.OutputChannel, context?: string): void {
  if (isUserFacing(e)) {
    show(e.message);
    return;
  }
  const msg = messageOf(e).split('\n')[0];
  if (log) {
    log.appendLine(`[error] ${context ?? ''} ${e instanceof Error && e.stack ? e.stack : msg}`);
  }
  show(`Shutdown Trace${context ? ` (${context})` : ''}: ${msg}`);
}
