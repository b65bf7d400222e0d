/**
 * Every trace a test run writes is checked against the published JSON Schema
 * (schema/shutdown-trace.schema.json) with a real draft 2020-12 validator, so the schema is
 * proven on what the launcher really writes, not only on the checked-in fixtures.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv';

let validate: ValidateFunction | undefined;

/** Throws naming the first field the schema refuses. */
export function assertMatchesSchema(trace: unknown, where: string): void {
  if (!validate) {
    const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'schema', 'shutdown-trace.schema.json'), 'utf8'));
    validate = new Ajv2020({ strict: true, allErrors: false }).compile(schema);
  }
  if (!validate(trace)) {
    const e = validate.errors?.[0];
    throw new Error(`${where}: the trace does not match the published schema: ${e?.instancePath || '/'} ${e?.message ?? ''}`);
  }
}
