// Writes the trace file's JSON Schema, generated from the validators (src/core/trace-schema.ts).
// `npm run schema` after changing a trace type or its checker; the unit test fails until then.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TRACE_SCHEMA_PATH, traceJsonSchemaText } from '../src/core/trace-schema';

const out = path.join(__dirname, '..', TRACE_SCHEMA_PATH);
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, traceJsonSchemaText());
console.log(`wrote ${TRACE_SCHEMA_PATH}`);
