// Test helpers for the real services (PostgreSQL, Redis): where they are, whether they answer, whether to skip.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import pg from 'pg';

export function pgUrl(): string {
  return process.env.WARDEN_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
}

export function redisUrl(): string {
  return process.env.WARDEN_TEST_REDIS_URL || 'redis://127.0.0.1:6379';
}

/**
 * A Redis key prefix of this test file's own (each file loads this module anew): the gateways of one file share it, as
 * replicas do, while other files and earlier runs (their session records live 30 minutes) never count against it.
 */
export const TEST_STATE_PREFIX = `warden-test-${randomBytes(4).toString('hex')}:`;

/** The config lines that put a gateway's state in the test Redis, under this file's prefix. */
export function redisStateYaml(): string {
  return `state: ${redisUrl()}\nstate_prefix: "${TEST_STATE_PREFIX}"\n`;
}

/** True when a connection to pgUrl() answers a query within the timeout. */
export async function pgAvailable(url = pgUrl(), timeoutMs = 3000): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  // A connection that dies after connect() emits 'error'; unheard, it would crash the test process.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** True when redisUrl() answers PING (raw RESP, so that no Redis client is needed to ask). */
export function redisAvailable(url = redisUrl(), timeoutMs = 3000): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname, port: Number(u.port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    // +PONG, or -NOAUTH when a password is required: either way the server is there.
    socket.once('data', (d) => done(/^[+-]/.test(d.toString())));
  });
}

function masked(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/**
 * Whether a suite that needs a service should run: yes when it answers. When it does not, the suite is skipped with
 * a visible warning, except in CI (CI=true), where it runs and fails loudly instead of passing by skipping.
 */
async function shouldRun(service: string, url: string, available: boolean, suite: string, env: string) {
  if (available) return true;
  if (process.env.CI === 'true') return true;
  console.warn(
    `[skip] ${suite}: ${service} is not reachable at ${masked(url)}; these tests are SKIPPED (set ${env}, or start ${service})`,
  );
  return false;
}

/** For `describe.runIf(await shouldRunPg('suite name'))`. */
export async function shouldRunPg(suite: string): Promise<boolean> {
  return shouldRun('PostgreSQL', pgUrl(), await pgAvailable(), suite, 'WARDEN_TEST_PG_URL');
}

/** For `describe.runIf(await shouldRunRedis('suite name'))`. */
export async function shouldRunRedis(suite: string): Promise<boolean> {
  return shouldRun('Redis', redisUrl(), await redisAvailable(), suite, 'WARDEN_TEST_REDIS_URL');
}

let schemaCounter = 0;

/** A schema name unique to this process and call, for a PostgreSQL test that must not see other runs' tables. */
export function freshSchemaName(prefix = 'warden_test'): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${++schemaCounter}`;
}

/** Drops schemas created by a test run; `pg` errors propagate so that a failed cleanup is visible. */
export async function dropSchemas(names: readonly string[], url = pgUrl()): Promise<void> {
  if (names.length === 0) return;
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    for (const n of names) await client.query(`DROP SCHEMA IF EXISTS "${n}" CASCADE`);
  } finally {
    await client.end();
  }
}
