/**
 * Reading a trace file: parse its text, check the envelope and then every field, and say what
 * is wrong in one line that names the file and the first bad field. Browser-safe (the webview
 * checks what it is handed too).
 */
import { TRACE_FORMAT, TRACE_VERSION, type Trace } from './trace';
import { checkTraceFields } from './validate-trace';
import { SchemaError } from './schema';

export class TraceFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceFormatError';
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses and checks a trace file's text. Throws TraceFormatError with a message that names
 * the problem (not JSON, truncated, not a trace, a future version, a damaged field).
 */
export function parseTrace(text: string, source = 'trace'): Trace {
  let data: unknown;
  // A UTF-8 byte-order mark (editors on Windows add one) is not part of the JSON.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new TraceFormatError(`${source} is empty: not a Shutdown Trace file.`);
  try {
    data = JSON.parse(text);
  } catch (e) {
    const trimmed = text.trimEnd();
    const truncated = trimmed.startsWith('{') && endsUnclosed(trimmed);
    throw new TraceFormatError(
      truncated
        ? `${source} is truncated: the JSON ends early (${text.length} bytes read). The file was cut off while being written or copied.`
        : `${source} is not valid JSON: ${(e as Error).message}`,
    );
  }
  return validateTrace(data, source);
}

/** True when JSON text ends inside a string or with an object/array still open (it was cut off). */
function endsUnclosed(text: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return inString || depth > 0;
}

/** Traces already checked (parseTrace, then the webview's own validateTrace on the same object). */
const validated = new WeakSet<object>();

/**
 * Checks a parsed trace: the envelope (format, version, its parts), then every field against
 * the types above (validate-trace.ts). Throws a TraceFormatError of one line that names the
 * file and the first bad field: `run.shutdown-trace.json: events[12].handles is not a list (number)`.
 */
export function validateTrace(data: unknown, source = 'trace'): Trace {
  if (!isObj(data)) throw new TraceFormatError(`${source} is not a Shutdown Trace file: expected a JSON object.`);
  if (data.format !== TRACE_FORMAT) {
    if ('traceEvents' in data)
      throw new TraceFormatError(`${source} is a Chrome Trace Event file (an export), not a Shutdown Trace file. Open it in Perfetto, or open the original .shutdown-trace.json.`);
    throw new TraceFormatError(`${source} is not a Shutdown Trace file: "format" is ${JSON.stringify(data.format)}, expected "${TRACE_FORMAT}".`);
  }
  if (typeof data.version !== 'number') throw new TraceFormatError(`${source} has no version number.`);
  if (data.version > TRACE_VERSION)
    throw new TraceFormatError(`${source} was written by a newer Shutdown Trace (format version ${data.version}); this one reads version ${TRACE_VERSION}. Update Shutdown Trace to open it.`);
  if (data.version < 1) throw new TraceFormatError(`${source} has an unknown format version ${data.version}.`);
  if (!isObj(data.meta)) throw new TraceFormatError(`${source} is damaged: "meta" is missing.`);
  for (const key of ['processes', 'events', 'output'] as const) {
    if (!Array.isArray(data[key])) throw new TraceFormatError(`${source} is damaged: "${key}" is missing or not a list.`);
  }
  if (validated.has(data)) return data as unknown as Trace;
  try {
    checkTraceFields(data);
  } catch (e) {
    if (!(e instanceof SchemaError)) throw e;
    throw new TraceFormatError(`${source}: ${e.path.replace(/^\./, '')} ${e.problem}`);
  }
  validated.add(data);
  return data as unknown as Trace;
}
