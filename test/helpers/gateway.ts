// Test helpers: an in-process gateway from YAML text, SDK clients against it, fixture paths.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parseConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/log.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const MODULES = join(ROOT, 'node_modules');
export const EVERYTHING = join(MODULES, '@modelcontextprotocol/server-everything/dist/index.js');
export const MEMORY = join(MODULES, '@modelcontextprotocol/server-memory/dist/index.js');
export const FILESYSTEM = join(MODULES, '@modelcontextprotocol/server-filesystem/dist/index.js');
export const PROBE = join(ROOT, 'test/fixtures/probe-server.ts');
export const CLI = join(ROOT, 'dist/cli/main.js');

export function tempDir(prefix = 'warden-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface RunningGateway {
  gateway: Gateway;
  mcpUrl: string;
  adminUrl: string;
  close(): Promise<void>;
}

/**
 * Starts a gateway in this process on free loopback ports. Tests that are not about identity run anonymous
 * (`auth.anonymous: true` is added unless the YAML has an `auth:` key of its own).
 */
export async function startGateway(yaml: string): Promise<RunningGateway> {
  const dir = tempDir();
  const file = join(dir, 'warden.yaml');
  if (!/^auth:/m.test(yaml)) yaml = `${yaml}\nauth: { anonymous: true }\n`;
  writeFileSync(file, yaml);
  const config = resolveConfig(parseConfig(yaml, file));
  config.listen = { host: '127.0.0.1', port: 0 };
  config.admin = { host: '127.0.0.1', port: 0 };
  const gateway = await createGateway(config, { log: createLogger(process.env.WARDEN_TEST_LOG ?? 'silent') });
  const { mcpUrl, adminUrl } = await gateway.listen();
  return { gateway, mcpUrl, adminUrl, close: () => gateway.close(1000) };
}

/** Starts the probe fixture over Streamable HTTP and resolves with its URL. */
export function startHttpProbe(
  port = 0,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', PROBE, '--port', String(port), ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      err += chunk;
      const m = /listening (\S+)/.exec(err);
      if (m) resolve({ url: m[1]!, child });
    });
    child.once('exit', () => reject(new Error(`probe exited: ${err}`)));
  });
}

export async function connect(
  url: string,
  capabilities: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<Client> {
  const client = new Client({ name: 'warden-test', version: '1.0.0' }, { capabilities });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

export function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? '').join('');
}

type Json = Record<string, unknown>;

/** A request to the admin API with an admin token; the body parsed as JSON (an object, or an array of them). */
export async function adminRequest(
  gw: { adminUrl: string },
  token: string,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Json & Json[] }> {
  const res = await fetch(`${gw.adminUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });
  return { status: res.status, body: (await res.json()) as Json & Json[] };
}
