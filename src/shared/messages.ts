/**
 * Messages between the extension host and the webview (postMessage), a discriminated union on
 * `type` each way. Browser-safe.
 */
import type { Trace, TraceEvent, ProcessInfo, Analysis, OutputLine } from './trace';

export type HostToWebview =
  /** A whole trace: a saved file, or the state of a live run when the panel (re)opens. */
  | { type: 'trace'; trace: Trace; live: boolean }
  /** Incremental live updates; applied in order to the last 'trace'. */
  | { type: 'append'; events: TraceEvent[]; output: OutputLine[]; processes: ProcessInfo[]; now: number }
  /** The run ended; carries the final analysis. */
  | { type: 'finished'; analysis: Analysis; trace: Trace }
  | { type: 'error'; message: string }
  | { type: 'theme'; kind: 'light' | 'dark' | 'high-contrast' | 'high-contrast-light' };

export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'open-frame'; file: string; line: number; col: number }
  | { type: 'command'; command: 'send-signal' | 'kill' | 'stop' | 'export' | 'copy-summary' | 'rerun'; signal?: string }
  | { type: 'select'; eventIndex: number };
