/**
 * Traffic during shutdown (`--load`) as the trace records it: the configuration, each
 * request's outcome, the totals. The generator itself is src/core/load.ts. Browser-safe.
 */

export type LoadOutcome = 'ok' | 'refused' | 'reset' | 'timeout' | 'http-5xx' | 'other-error';
export const LOAD_OUTCOMES: readonly LoadOutcome[] = ['ok', 'refused', 'reset', 'timeout', 'http-5xx', 'other-error'];

/** One request (or stream) of the load, as the generator reports it and the trace keeps it (`load-request`). */
export interface LoadSpan {
  id: number;
  /** Start, trace ms. */
  t: number;
  /** When the outcome was known, trace ms. */
  end: number;
  outcome: LoadOutcome;
  status?: number;
  error?: string;
  keepAlive: boolean;
  /** A server-sent-event stream rather than a plain request. */
  sse?: boolean;
  /** Events received on a stream. */
  events?: number;
  /** The client side's port of the connection the request was written on, when known. */
  localPort?: number;
}

export interface LoadConfig {
  /** "auto" (the TCP port the service listens on first), a port, host:port, or an http:// URL. */
  target: string;
  /** Request path for the auto/port forms (default "/"); a URL target carries its own. */
  path?: string;
  /** Requests per second; 0 sends none (streams only). */
  rate: number;
  /** Reuse connections (keep-alive Pool) instead of one connection per request (`connection: close`). */
  keepAlive: boolean;
  /** Long-lived server-sent-event streams to hold open (GET with accept: text/event-stream). */
  sse?: number;
  /** Path of the streams (default: the request path). */
  ssePath?: string;
  /** Per-request timeout in ms (default 5000). Streams have none. */
  timeoutMs?: number;
  /** Keep sending this long after the main process exited, to observe refusals (default 300). */
  tailMs?: number;
}

export interface LoadSummary {
  url: string;
  sent: number;
  recorded: number;
  streams: number;
  byOutcome: Record<LoadOutcome, number>;
  statuses: Record<string, number>;
  /** Requests that were due but not sent because the launcher fell behind (event loop blocked). */
  skipped: number;
}
