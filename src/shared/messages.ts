/**
 * Messages between the extension host and the webview (postMessage), a discriminated union on
 * `type` each way. Browser-safe. A receiver switches over `type` exhaustively and ignores a type
 * it does not know (a newer sender).
 */
import type { Trace, TraceEvent, ProcessInfo, Analysis, OutputLine } from './trace';
import type { TraceColumns } from './trace-columns';

export type HostToWebview =
  /** A whole trace: a saved file, or the state of a live run when the panel (re)opens. */
  | { type: 'trace'; trace: Trace; live: boolean }
  /**
   * A whole big trace in columns (trace-columns.ts): its events and output as ArrayBuffers, which
   * cross the webview bridge as bytes instead of a million-object clone or JSON text.
   */
  | { type: 'trace-columns'; columns: TraceColumns; live: boolean }
  /** Incremental live updates; applied in order to the last 'trace'. */
  | { type: 'append'; events: TraceEvent[]; output: OutputLine[]; processes: ProcessInfo[]; now: number }
  /** The run ended; carries the final analysis. */
  | { type: 'finished'; analysis: Analysis; trace: Trace }
  /** The run ended, a big trace: as 'finished', the trace in columns. */
  | { type: 'finished-columns'; analysis: Analysis; columns: TraceColumns }
  | { type: 'error'; message: string }
  | { type: 'theme'; kind: 'light' | 'dark' | 'high-contrast' | 'high-contrast-light' }
  // The VS Code panel's own states and requests; other hosts never send them.
  /** A run was asked for and has not produced its first event yet. */
  | { type: 'starting'; label: string; command?: string }
  /** No trace yet: guide instead of an error. `activeFile` is the file "Run" would run, if any. */
  | { type: 'empty'; activeFile?: string }
  /** Select an analysis.leaks entry (by index) or an event (by trace index) and bring it into view. */
  | { type: 'reveal'; leak?: number; event?: number };

export type HostToWebviewType = HostToWebview['type'];

/** Every HostToWebview type, for receivers that drop what they do not know. */
export const HOST_TO_WEBVIEW_TYPES: ReadonlySet<string> = new Set<HostToWebviewType>([
  'trace',
  'trace-columns',
  'append',
  'finished',
  'finished-columns',
  'error',
  'theme',
  'starting',
  'empty',
  'reveal',
]);

/** The empty state's buttons. */
export type PanelAction = 'run-active-file' | 'run-script' | 'open-example' | 'open-trace' | 'walkthrough';

export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'open-frame'; file: string; line: number; col: number }
  | { type: 'command'; command: 'send-signal' | 'kill' | 'stop' | 'export' | 'copy-summary' | 'rerun'; signal?: string }
  | { type: 'select'; eventIndex: number }
  | { type: 'action'; action: PanelAction };
