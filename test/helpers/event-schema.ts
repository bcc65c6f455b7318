// The JSON Schema of --json events (schema/events.schema.json), compiled once with ajv,
// for tests that check each event a daemon or the tracker wrote.

import fs = require('node:fs');
import path = require('node:path');
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

export const SCHEMA_PATH = path.resolve(__dirname, '..', '..', '..', 'schema', 'events.schema.json');

const ajv = new Ajv({ strict: true, allErrors: true });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(fs.readFileSync(SCHEMA_PATH, 'utf8')) as object);

/** The schema's complaints about `event`, empty when it is valid. */
export function schemaErrors(event: unknown): string[] {
  if (validate(event)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
