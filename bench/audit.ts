// Audit throughput: entries per second through the group-commit writer, SQLite and PostgreSQL, with many callers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { AuditWriter } from '../src/audit/writer.js';
import { openAuditStore } from '../src/store/open.js';
import { verifyStore } from '../src/store/types.js';

const ENTRIES = Number(process.env.AUDIT_ENTRIES ?? 20_000);
const CALLERS = [1, 64, 1024];
const DURABILITY = process.env.AUDIT_DURABILITY === 'power-loss' ? 'power-loss' : 'crash';
const PG = process.env.WARDEN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function body(i: number): Record<string, unknown> {
  return {
    v: 1,
    requestId: i,
    session: 's',
    grant: null,
    server: 'bench',
    method: 'tools/call',
    tool: 'echo',
    decision: 'allowed',
    rule: '/tools/echo',
    policy: 'bench.json',
    reason: null,
    shadow: false,
    outcome: null,
    errorCode: null,
    latencyMs: null,
    args: { mode: 'keys', keys: ['text'], hash: 'a'.repeat(64) },
  };
}

async function run(url: string, callers: number): Promise<{ perSecond: number; verified: boolean }> {
  const store = await openAuditStore(url, {
    sqlite: { durability: DURABILITY },
    postgres: { schema: `bench_${process.pid}_${callers}` },
  });
  const writer = new AuditWriter(store, { maxDelayMs: 0 });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < ENTRIES) {
        const i = next++;
        await writer.write({
          time: new Date().toISOString(),
          kind: 'decision',
          requestKey: `k${i}`,
          body: body(i),
        });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await writer.close();
  const verified = (await verifyStore(store)).ok;
  await store.close();
  if (url.startsWith('postgres')) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS bench_${process.pid}_${callers} CASCADE`);
    await client.end();
  }
  return { perSecond: Math.round(ENTRIES / seconds), verified };
}

const dir = mkdtempSync(join(tmpdir(), 'warden-audit-bench-'));
const rows: string[] = [];
for (const callers of CALLERS) {
  const sqlite = await run(`sqlite:${join(dir, `audit-${callers}.db`)}`, callers);
  let pg = '(unavailable)';
  try {
    const r = await run(PG, callers);
    pg = `${r.perSecond}${r.verified ? '' : ' (verify failed)'}`;
  } catch (err) {
    pg = `(unavailable: ${(err as Error).message.split('\n')[0]})`;
  }
  rows.push(`| ${callers} | ${sqlite.perSecond}${sqlite.verified ? '' : ' (verify failed)'} | ${pg} |`);
}
rmSync(dir, { recursive: true, force: true });
process.stdout.write(
  `| callers waiting on their own write | SQLite (${DURABILITY}) entries/s | PostgreSQL entries/s |\n| ---: | ---: | ---: |\n${rows.join('\n')}\n`,
);
