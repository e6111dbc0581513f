// The JSON Schema of warden.yaml for editors, generated from the zod schema.
import { z } from 'zod';
import { configSchema } from './schema.js';

export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://github.com/mcp-warden/mcp-warden/schema/warden.schema.json',
    title: 'mcp-warden configuration',
  };
}
