import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ERA_2026 } from '../../src/era/versions.js';
import {
  adminRequest,
  connect,
  ROOT,
  type RunningGateway,
  startGateway,
  textOf,
} from '../helpers/gateway.js';

const SERVER = join(ROOT, 'test/fixtures/guard-corpus/guarded-server.ts');
const KEY = 'AKIAQ3EGRT5YJ7XK2PLM';
const ADMIN = 'guards-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;
const upstream = `mcpServers:
  acct:
    command: node
    args: ["--import", "tsx", "${SERVER}"]
    cwd: ${ROOT}
`;

describe('result guards through the gateway (stdio upstream, HTTP agent)', () => {
  const open: Array<RunningGateway | Client> = [];
  afterEach(async () => {
    for (const x of open.splice(0).reverse()) await x.close();
  });
  afterAll(async () => {
    for (const x of open.splice(0).reverse()) await x.close();
  });
  let gw: RunningGateway;
  async function start(guards: string): Promise<Client> {
    gw = await startGateway(`${upstream}${guards}`);
    open.push(gw);
    const client = await connect(`${gw.mcpUrl}/acct`);
    open.push(client);
    return client;
  }

  it('masks a key in text and structuredContent, and the SDK client still validates the outputSchema', async () => {
    const client = await start('guards:\n  results:\n    secrets: mask\n');
    const r = await client.callTool({ name: 'get_account', arguments: {} });
    expect(r.isError).not.toBe(true);
    expect(JSON.stringify(r)).not.toContain(KEY);
    expect(r.structuredContent).toEqual({
      owner: 'jane.doe@example.com',
      accessKey: '[REDACTED:secret]',
      logins: 7,
    });
  });

  it('blocks a result with a key as an isError result naming the guard, not the value', async () => {
    const client = await start('guards:\n  results:\n    secrets: block\n');
    const r = await client.callTool({ name: 'get_account', arguments: {} });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain('secrets guard');
    expect(JSON.stringify(r)).not.toContain(KEY);
  });

  it('applies a per-tool override (echo: off) over the server setting', async () => {
    const client = await start(
      "guards:\n  results:\n    secrets: block\n    servers:\n      acct:\n        tools:\n          echo: { secrets: 'off' }\n",
    );
    const r = await client.callTool({ name: 'echo', arguments: { text: `k=${KEY}` } });
    expect(textOf(r)).toBe(`k=${KEY}`);
  });

  it('#19.3 masks a key an agent smuggled through an echo with zero-width characters', async () => {
    const client = await start('guards:\n  results:\n    secrets: mask\n');
    const r = await client.callTool({
      name: 'echo',
      arguments: { text: `${KEY.slice(0, 6)}\u200B${KEY.slice(6)}` },
    });
    expect(textOf(r)).toBe('[REDACTED:secret]');
  });

  it('masks resources/read contents', async () => {
    const client = await start('guards:\n  results:\n    secrets: mask\n');
    const r = await client.readResource({ uri: 'file:///app/.env' });
    expect((r.contents[0] as { text: string }).text).toBe(
      'AWS_ACCESS_KEY_ID=[REDACTED:secret]\nREGION=eu-west-1\n',
    );
  });

  it('refuses a prompts/get with an injection when injection is block', async () => {
    const client = await start('guards:\n  results:\n    injection: block\n');
    await expect(client.getPrompt({ name: 'summary' })).rejects.toThrow(/injection guard/);
  });

  it('passes results unchanged in shadow mode', async () => {
    const client = await start('guards:\n  results:\n    secrets: block\n    shadow: true\n');
    const r = await client.callTool({ name: 'get_account', arguments: {} });
    expect(JSON.stringify(r.structuredContent)).toContain(KEY);
  });

  it('blocks a result larger than maxScanBytes by default', async () => {
    const client = await start('guards:\n  results:\n    pii: flag\n    maxScanBytes: 100\n');
    const r = await client.callTool({ name: 'echo', arguments: { text: 'x'.repeat(500) } });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain('size guard');
  });

  it('records guard, action, rule ids and counts in the audit record, never the value', async () => {
    const client = await start('guards:\n  results:\n    secrets: mask\n    pii: flag\n');
    await client.callTool({ name: 'get_account', arguments: {} });
    let record: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && record?.guards === undefined; i++) {
      const body = (await adminRequest(gw, ADMIN, '/api/audit?limit=20')).body as unknown;
      const list = (Array.isArray(body) ? body : ((body as { records?: unknown[] }).records ?? [])) as Array<
        Record<string, unknown>
      >;
      record = list.find((r) => r.tool === 'get_account' && r.guards !== undefined);
      if (record === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(record?.guards).toEqual([
      { guard: 'secrets', action: 'mask', rules: { 'aws-access-key-id': 2 } },
      { guard: 'pii', action: 'flag', rules: { email: 2 } },
    ]);
    expect(JSON.stringify(record)).not.toContain(KEY);
  });

  it('masks the same result for a stdio agent (serveStdio, what `warden stdio` runs)', async () => {
    gw = await startGateway(`${upstream}guards:\n  results:\n    secrets: mask\n`);
    open.push(gw);
    const transport = new StreamTransport();
    void gw.gateway.serveStdio(
      transport.toGateway,
      transport.fromGateway,
      'acct',
      await gw.gateway.stdioIdentity(undefined, undefined),
    );
    const client = new Client({ name: 'stdio-agent', version: '1.0.0' });
    await client.connect(transport);
    open.push(client);
    const r = await client.callTool({ name: 'get_account', arguments: {} });
    expect(JSON.stringify(r)).not.toContain(KEY);
    expect((r.structuredContent as { accessKey: string }).accessKey).toBe('[REDACTED:secret]');
  });

  it('#19.6.8f a server policy file makes the config’s flag a block; its looser off for echo changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-policy-guards-'));
    const file = join(dir, 'acct-policy.yaml');
    writeFileSync(
      file,
      'version: "1"\ndefault: allow\nguards:\n  results:\n    secrets: block\n    tools:\n      echo: { secrets: "off" }\n',
    );
    gw = await startGateway(
      `${upstream.replace('    cwd:', `    policy: ${file}\n    cwd:`)}guards:\n  results:\n    secrets: flag\n`,
    );
    open.push(gw);
    const client = await connect(`${gw.mcpUrl}/acct`);
    open.push(client);
    const r = await client.callTool({ name: 'get_account', arguments: {} });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain('secrets guard');
    expect(JSON.stringify(r)).not.toContain(KEY);
    // The policy's `off` for echo cannot loosen the config's flag: the key goes through flagged, not unguarded.
    const e = await client.callTool({ name: 'echo', arguments: { text: `k=${KEY}` } });
    expect(textOf(e)).toBe(`k=${KEY}`);
    let record: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && record === undefined; i++) {
      const body = (await adminRequest(gw, ADMIN, '/api/audit?limit=20')).body as unknown;
      const list = (Array.isArray(body) ? body : ((body as { records?: unknown[] }).records ?? [])) as Array<
        Record<string, unknown>
      >;
      record = list.find((r) => r.tool === 'echo' && r.guards !== undefined);
      if (record === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(record?.guards).toEqual([{ guard: 'secrets', action: 'flag', rules: { 'aws-access-key-id': 1 } }]);
  });

  it('masks a result from an upstream over Streamable HTTP', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', SERVER, '--port', '0'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let err = '';
        child.stderr?.on('data', (d: Buffer) => {
          err += d.toString();
          const m = /listening (\S+)/.exec(err);
          if (m) resolve(m[1]!);
        });
        child.once('exit', () => reject(new Error(`fixture exited: ${err}`)));
      });
      gw = await startGateway(
        `mcpServers:\n  acct:\n    url: ${url}\nguards:\n  results:\n    secrets: mask\n`,
      );
      open.push(gw);
      const client = await connect(`${gw.mcpUrl}/acct`);
      open.push(client);
      const r = await client.callTool({ name: 'get_account', arguments: {} });
      expect(JSON.stringify(r)).not.toContain(KEY);
      expect((r.structuredContent as { accessKey: string }).accessKey).toBe('[REDACTED:secret]');
    } finally {
      child.kill();
    }
  });

  it('#19.3 a flagged secret labels the conversation, and a flow rule after: secret refuses the next send', async () => {
    const client = await start(
      "guards:\n  results:\n    secrets: flag\nflows:\n  derive: false\n  labels:\n    external: ['acct/echo']\n  rules:\n    - after: secret\n      deny: external\n      reason: 'No sends after a secret'\n",
    );
    const before = await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
    expect(textOf(before)).toBe('hello');
    const read = await client.callTool({ name: 'get_account', arguments: {} });
    expect(JSON.stringify(read)).toContain(KEY);
    const after = await client.callTool({ name: 'echo', arguments: { text: 'hello' } }).then(
      (r) => textOf(r),
      (e: Error) => e.message,
    );
    expect(after).toContain('No sends after a secret');
  });

  it('masks the result for a 2026-07-28 client (SDK v2 pinned to the 2026 era)', async () => {
    gw = await startGateway(`${upstream}guards:\n  results:\n    secrets: mask\n`);
    open.push(gw);
    const client = new ClientV2(
      { name: 'guards-2026', version: '1.0.0' },
      { capabilities: {}, versionNegotiation: { mode: { pin: ERA_2026 } } },
    );
    await client.connect(new HttpV2(new URL(`${gw.mcpUrl}/acct`)));
    try {
      const r = await client.callTool({ name: 'get_account', arguments: {} });
      expect(JSON.stringify(r)).not.toContain(KEY);
      expect((r.structuredContent as { accessKey: string }).accessKey).toBe('[REDACTED:secret]');
    } finally {
      await client.close();
    }
  });
});

/** A stdio agent over a pair of streams, through the SDK client. */
class StreamTransport implements Transport {
  onmessage?: (m: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (e: Error) => void;
  readonly toGateway = new PassThrough();
  readonly fromGateway = new PassThrough();
  private readonly buffer = new ReadBuffer();
  async start(): Promise<void> {
    this.fromGateway.on('data', (chunk: Buffer) => {
      this.buffer.append(chunk);
      for (let m = this.buffer.readMessage(); m !== null; m = this.buffer.readMessage()) this.onmessage?.(m);
    });
  }
  async send(m: JSONRPCMessage): Promise<void> {
    this.toGateway.write(serializeMessage(m));
  }
  async close(): Promise<void> {
    this.toGateway.end();
    this.onclose?.();
  }
}
