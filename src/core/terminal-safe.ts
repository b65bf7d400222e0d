/**
 * The one sanitizer for text that reaches a terminal. A trace is input: file names, verdicts,
 * findings, phase names, handle labels and incomplete reasons can carry escape sequences
 * (a title change, a screen clear, a fake prompt) or line breaks that forge report lines.
 * Every terminal printer of the CLI passes what it echoes through here; our own colours are
 * added after.
 */

/** Escape sequences, whole: CSI, OSC/DCS/SOS/PM/APC strings (ended by BEL or ST, or not at all), 2-byte ESC forms; their 8-bit C1 forms. */
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]?|\x9b[0-?]*[ -/]*[@-~]?|[\x1b][\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|[\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|\x1b[ -~]?/g;
/** C0 controls, DEL and C1 controls. */
const CONTROLS = /[\x00-\x1f\x7f-\x9f]/g;
const LINE_BREAKS = /\r\n|[\r\n\t\v\f\u2028\u2029\x85]/g;

/**
 * One echoed field: escape sequences and control characters removed; line breaks and tabs
 * become a space, so a field can never start a line of its own.
 */
export function terminalSafe(value: unknown): string {
  const s = typeof value === 'string' ? value : String(value);
  if (!/[\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(s)) return s;
  return s.replace(LINE_BREAKS, ' ').replace(ESCAPES, '').replace(CONTROLS, '');
}

/** Several lines of our own (a Markdown export printed to the terminal): each line sanitized, the line breaks kept. */
export function terminalSafeLines(text: string): string {
  return text
    .split('\n')
    .map((l) => terminalSafe(l.endsWith('\r') ? l.slice(0, -1) : l))
    .join('\n');
}

/**
 * JSON for a terminal: JSON.stringify escapes C0 controls but writes DEL, C1 controls and
 * U+2028/9 raw; this escapes them too. The same JSON value, byte-safe to print.
 */
export function terminalSafeJson(json: string): string {
  return json.replace(/[\x7f-\x9f\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/**
 * A copy of a value with every string passed through terminalSafe: the parts of a trace a
 * report prints (meta, processes, analysis). Object keys are kept as they are.
 */
export function terminalSafeDeep<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return terminalSafe(value) as unknown as T;
  if (typeof value !== 'object' || value === null) return value;
  // Deeper than any trace field (validation bounds nesting): left out rather than printed raw.
  if (depth > 64) return undefined as T;
  if (Array.isArray(value)) return value.map((v) => terminalSafeDeep(v, depth + 1)) as unknown as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) Object.defineProperty(out, k, { value: terminalSafeDeep(v, depth + 1), enumerable: true, writable: true, configurable: true });
  return out as T;
}
