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

/**
 * Runs a TypeScript fixture (`node --import tsx <file> ...args`) that writes `listening <url>` on stderr once it
 * serves; resolves with that URL and the child, rejects with its stderr when it exits first.
 */
export function spawnListening(
  file: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
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
    child.once('exit', () => reject(new Error(`${file} exited: ${err}`)));
  });
}

/** Starts the probe fixture over Streamable HTTP and resolves with its URL. */
export function startHttpProbe(
  port = 0,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<{ url: string; child: ChildProcess }> {
  return spawnListening(PROBE, ['--port', String(port), ...args], env);
}

/** The SDK v2 fixture (test/fixtures/modern-server.ts): `modern` serves 2026-07-28 only, `dual` both eras. */
export function startModernFixture(mode: 'modern' | 'dual'): Promise<{ url: string; child: ChildProcess }> {
  return spawnListening(join(ROOT, 'test/fixtures/modern-server.ts'), [mode, '0']);
}

/**
 * One 2026-07-28 request by hand (headers and `_meta` envelope as a 2026 client sends them, `extra` headers on top):
 * the HTTP status and the JSON-RPC message that answers it, from a JSON body or an event stream.
 */
export async function post2026(
  url: string,
  method: string,
  params: Record<string, unknown>,
  opts: {
    headers?: Record<string, string>;
    capabilities?: Record<string, unknown>;
    signal?: AbortSignal;
    id?: number;
  } = {},
): Promise<{ status: number; message: Json }> {
  const name = params.name ?? params.uri;
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': method,
      ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
      ...opts.headers,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: opts.id ?? 1,
      method,
      params: {
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientCapabilities': opts.capabilities ?? {},
          'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
        },
      },
    }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith('data:') && /"(result|error)"/.test(l));
  return { status: res.status, message: JSON.parse(line === undefined ? text : line.slice(5)) as Json };
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
