// #17.17: `warden stdio` rechecks its grant on every request: a revoke (or a rotation of WARDEN_TOKEN's token) made
// with the real CLI ends a running process's access at its next request, on SQLite and on PostgreSQL.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../helpers/cli.js';
import { CLI, PROBE, ROOT, textOf } from '../helpers/gateway.js';
import { pgUrl, shouldRunPg } from '../helpers/services.js';

/** Each test runs several CLI processes and a stdio gateway; the machine may be busy. */
const SLOW = 120_000;

const SERVERS = `
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
auth: { anonymous: false }
`;

function json(args: string[]): Record<string, unknown> {
  const r = runCli(args);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** A `warden stdio` process over a real pipe, as a desktop client runs it. */
async function stdioClient(file: string, args: string[], env: Record<string, string> = {}): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'stdio', '--config', file, ...args],
    env: { ...(process.env as Record<string, string>), ...env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'desktop', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

async function echo(client: Client, text: string): Promise<string> {
  return textOf(await client.callTool({ name: 'probe__echo', arguments: { text } }));
}

/** The audit records of a grant, as `warden audit query` prints them. */
async function recordsOf(file: string, grant: string): Promise<Array<Record<string, unknown>>> {
  // The refusal's record is written after its answer: give it a moment to reach the log.
  for (let i = 0; i < 50; i++) {
    const r = runCli(['audit', 'query', '--config', file, '--json', '--grant', grant]);
    const rows = r.stdout
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    if (rows.some((row) => String(row.rule ?? '').startsWith('(grant '))) return rows;
    await new Promise((res) => setTimeout(res, 100));
  }
  return [];
}

function suite(name: string, storage: () => string) {
  describe(`warden stdio rechecks its grant (${name})`, () => {
    let file: string;
    beforeAll(() => {
      file = writeConfig(`${SERVERS}${storage()}`);
    }, SLOW);

    it(
      `#17.17 a running warden stdio --grant fails its next request after warden grants revoke (${name})`,
      async () => {
        json(['grants', 'create', 'desk', '--config', file, '--json']);
        const client = await stdioClient(file, ['--grant', 'desk']);
        try {
          expect(await echo(client, 'before')).toBe('before');
          expect(runCli(['grants', 'revoke', 'desk', '--config', file]).status).toBe(0);
          await expect(echo(client, 'after')).rejects.toThrow(/grant "desk" was revoked/);
          // Every later request too, lists included.
          await expect(client.listTools()).rejects.toThrow(/revoked/);
        } finally {
          await client.close();
        }
        const rows = await recordsOf(file, 'desk');
        const refused = rows.filter((r) => r.rule === '(grant revoked)');
        expect(refused.map((r) => `${r.method} ${r.decision} ${r.outcome}`)).toEqual([
          'tools/call denied not_called',
          'tools/list denied not_called',
        ]);
      },
      SLOW,
    );

    it(
      `#17.17 a running warden stdio with WARDEN_TOKEN fails its next request after warden grants revoke (${name})`,
      async () => {
        const token = String(json(['grants', 'create', 'env-desk', '--config', file, '--json']).token);
        const client = await stdioClient(file, [], { WARDEN_TOKEN: token });
        try {
          expect(await echo(client, 'before')).toBe('before');
          expect(runCli(['grants', 'revoke', 'env-desk', '--config', file]).status).toBe(0);
          await expect(echo(client, 'after')).rejects.toThrow(/grant "env-desk" was revoked/);
        } finally {
          await client.close();
        }
        expect((await recordsOf(file, 'env-desk')).some((r) => r.rule === '(grant revoked)')).toBe(true);
      },
      SLOW,
    );

    it(
      `#17.17 a running warden stdio with WARDEN_TOKEN fails its next request after warden grants rotate (${name})`,
      async () => {
        const token = String(json(['grants', 'create', 'rot-desk', '--config', file, '--json']).token);
        const client = await stdioClient(file, [], { WARDEN_TOKEN: token });
        try {
          expect(await echo(client, 'before')).toBe('before');
          const fresh = String(json(['grants', 'rotate', 'rot-desk', '--config', file, '--json']).token);
          await expect(echo(client, 'after')).rejects.toThrow(/token of grant "rot-desk" was rotated/);
          // The new token works in a new process.
          const again = await stdioClient(file, [], { WARDEN_TOKEN: fresh });
          try {
            expect(await echo(again, 'new')).toBe('new');
          } finally {
            await again.close();
          }
        } finally {
          await client.close();
        }
        expect((await recordsOf(file, 'rot-desk')).some((r) => r.rule === '(grant rotated)')).toBe(true);
      },
      SLOW,
    );

    it(`#17.17 a running warden stdio --grant keeps working after a rotation, which changes only the token (${name})`, async () => {
      json(['grants', 'create', 'rot-label', '--config', file, '--json']);
      const client = await stdioClient(file, ['--grant', 'rot-label']);
      try {
        json(['grants', 'rotate', 'rot-label', '--config', file, '--json']);
        expect(await echo(client, 'still')).toBe('still');
      } finally {
        await client.close();
      }
    });
  });
}

suite('SQLite', () => '');

const runPg = await shouldRunPg('warden stdio grant recheck on PostgreSQL');
const database = `warden_h5_stdio_${process.pid}`;
const admin = pgUrl();

async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

describe.runIf(runPg)('on PostgreSQL', () => {
  beforeAll(async () => {
    await sql(`CREATE DATABASE ${database}`);
  });
  afterAll(async () => {
    await sql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });
  suite('PostgreSQL', () => `storage: ${admin.replace(/\/[^/]*$/, `/${database}`)}\n`);
});
