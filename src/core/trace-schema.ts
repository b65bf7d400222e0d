/**
 * The trace file's published JSON Schema (draft 2020-12), generated from the checkers that
 * validate traces on read (validate-trace.ts, validate-wire.ts): one definition, so the schema
 * and the reader cannot disagree. `npm run schema` writes it to schema/shutdown-trace.schema.json;
 * test/unit/trace-schema.test.ts fails when the committed file is not what this returns.
 */
import { jsonSchemaOf, MAX_UNKNOWN_DEPTH, type JsonSchema } from '../shared/schema';
import { traceFile } from '../shared/validate-trace';
import { TRACE_FORMAT, TRACE_VERSION } from '../shared/trace';

/** Where the schema sits in the repository and in the .vsix. */
export const TRACE_SCHEMA_PATH = 'schema/shutdown-trace.schema.json';
/** Names the format version, not a location: a new version gets a new id. */
export const TRACE_SCHEMA_ID = `urn:shutdown-trace:trace-file:v${TRACE_VERSION}`;

export function traceJsonSchema(): JsonSchema {
  const { schema, defs } = jsonSchemaOf(traceFile);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: TRACE_SCHEMA_ID,
    title: `Shutdown Trace file, format "${TRACE_FORMAT}" version ${TRACE_VERSION}`,
    description:
      'Generated from src/core/validate-trace.ts; do not edit by hand (npm run schema). Unknown fields and unknown event kinds are allowed: ' +
      'a reader keeps them and skips what it does not know. Three rules are beyond JSON Schema and checked by Shutdown Trace itself: ' +
      "a finding's evidence entries are indexes into events, a site's user is -1 or an index into its frames, " +
      `and unknown fields nest at most ${MAX_UNKNOWN_DEPTH} levels deep.`,
    ...schema,
    $defs: sortKeys(defs),
  };
}

/** The schema file's text: stable key order for $defs, two-space indent, a final newline. */
export function traceJsonSchemaText(): string {
  return JSON.stringify(traceJsonSchema(), null, 2) + '\n';
}

function sortKeys(o: Record<string, JsonSchema>): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}
