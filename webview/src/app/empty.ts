/** States without a trace: a run starting, and the empty state that guides instead of an error. */
import type { App } from '../app';
import type { PanelAction } from '../../../src/shared/messages';
import { el, clear, displayText } from '../util';

// ---------------------------------------------------------------- states without a trace

export function showStarting(a: App, label: string, command: string): void {
  if (a.model) return; // a trace already arrived: it wins
  a.clearError();
  a.summary.showState('starting', `Starting ${displayText(label, 120)}…`, command ? displayText(command, 300) : '');
  a.summary.root.hidden = false;
  a.toolbar.hidden = true;
  a.emptyState('Waiting for the first events…', 'The timeline fills in as soon as the service starts.', []);
}

export function showEmpty(a: App, activeFile?: string): void {
  a.model = null;
  a.traceKey = '';
  a.timeline.classList.remove('has-trace');
  a.clearError();
  a.summary.showState('empty', 'No trace yet');
  // the box in the middle says it all; no empty toolbar or summary around it
  a.summary.root.hidden = true;
  a.toolbar.hidden = true;
  const actions: [string, PanelAction, boolean][] = [
    [activeFile ? `Run ${displayText(activeFile, 60)}` : 'Run the active file', 'run-active-file', !!activeFile],
    ['Run an npm script…', 'run-script', false],
    ['Try the example', 'open-example', !activeFile],
    ['Open a trace file…', 'open-trace', false],
    ['Walkthrough', 'walkthrough', false],
  ];
  a.emptyState(
    'Nothing traced yet',
    `Shutdown Trace starts a service, sends it SIGTERM once it listens, and shows what its shutdown did. ${activeFile ? `${displayText(activeFile, 80)} is open: run it, or pick something else.` : 'Open a JavaScript or TypeScript file to run it, or start with the example.'}`,
    actions,
  );
  clear(a.commandsEl);
  a.renderDetails();
}

export function emptyState(a: App, title: string, text: string, actions: [string, PanelAction, boolean][]): void {
  clear(a.emptyEl);
  const buttons = el('div', { class: 'st-empty-actions' });
  for (const [label, action, primary] of actions) {
    const b = el('button', { type: 'button', class: `st-cmd-btn${primary ? ' primary' : ''}`, 'data-action': action }, label);
    b.addEventListener('click', () => a.host.post({ type: 'action', action }));
    buttons.append(b);
  }
  a.emptyEl.append(
    el('div', { class: 'st-empty-box', 'data-testid': 'empty' }, el('p', { class: 'st-empty-title', text: title }), el('p', { class: 'st-muted', text }), actions.length ? buttons : null),
  );
  a.emptyEl.hidden = false;
}
