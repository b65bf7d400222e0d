/**
 * Messages between the VS Code panel and the page beyond the shared HostToWebview/WebviewToHost
 * protocol: the panel's own states (starting, empty), selecting an item from the editor (a
 * diagnostic's "Show in timeline"), and the empty state's buttons. Other hosts never send them.
 */
export type PanelMessage =
  /** A run was asked for and has not produced its first event yet. */
  | { type: 'starting'; label: string; command?: string }
  /** No trace yet: guide instead of an error. `activeFile` is the file "Run" would run, if any. */
  | { type: 'empty'; activeFile?: string }
  /** Select an analysis.leaks entry (by index) or an event (by trace index) and bring it into view. */
  | { type: 'reveal'; leak?: number; event?: number };

export type PanelAction = 'run-active-file' | 'run-script' | 'open-example' | 'open-trace' | 'walkthrough';

export type PanelRequest = { type: 'action'; action: PanelAction };

export const PANEL_MESSAGE_TYPES = new Set(['starting', 'empty', 'reveal']);
