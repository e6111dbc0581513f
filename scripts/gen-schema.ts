// Writes schema/warden.schema.json from the zod config schema (the single source); a test keeps it current.
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../src/config/json-schema.js';

writeFileSync(
  new URL('../schema/warden.schema.json', import.meta.url),
  `${JSON.stringify(configJsonSchema(), null, 2)}\n`,
);
process.stderr.write('wrote schema/warden.schema.json\n');
