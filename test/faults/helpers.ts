// Tools of the fault tests: a TCP proxy that can cut a service off and restore it, a process's memory and file
// descriptors from /proc, the gateway's metrics, and a raw Streamable HTTP session (for clients that misbehave).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { ROOT } from '../helpers/gateway.js';
import { pgUrl } from '../helpers/services.js';

export const FAULTY = join(ROOT, 'test/fixtures/faulty-server.ts');

/** A config entry that runs the faulty fixture over stdio. */
export function faultyServer(extraArgs: string[] = []): string {
  const args = ['--import', 'tsx', FAULTY, ...extraArgs].map((a) => JSON.stringify(a)).join(', ');
  return `command: node\n    args: [${args}]\n    cwd: ${ROOT}`;
}

/**
 * A TCP proxy in front of a shared service (PostgreSQL, Redis): `cut()` resets every connection and refuses new ones
 * (as a server that went down), `restore()` accepts again. The shared service itself is never touched.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private holding = false;
  port = 0;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly listenPort = 0,
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await proxy.restore();
    return proxy;
  }

  /** Accepts and forwards connections (again), on the same port as before. */
  async restore(): Promise<void> {
    if (this.holding) {
      this.holding = false;
      for (const s of this.sockets) s.resume();
    }
    if (this.server !== undefined) return;
    const server = createServer((client) => {
      const upstream = tcpConnect(this.target.port, this.target.host);
      this.sockets.add(client);
      this.sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop);
      upstream.on('error', drop);
      client.on('close', drop);
      upstream.on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
      if (this.holding) {
        client.pause();
        upstream.pause();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port || this.listenPort, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Resets every open connection (RST) and refuses new ones until restore(). */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
  }

  /**
   * A network that drops packets: open connections stay open but nothing passes either way, and new ones are
   * accepted and then hear nothing, until restore() (which also lets the held connections flow again).
   */
  blackhole(): void {
    this.holding = true;
    for (const s of this.sockets) s.pause();
  }

  get connections(): number {
    return this.sockets.size / 2;
  }

  async close(): Promise<void> {
    await this.cut();
  }
}

/** Resident set size of a process, in KiB (VmRSS in /proc/<pid>/status). */
export function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/** Open file descriptors of a process. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Whether a process exists (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** One value of the gateway's Prometheus metrics (the first sample whose line starts with `name`). */
export async function metric(adminUrl: string, name: string, token?: string): Promise<number> {
  const res = await fetch(`${adminUrl}/metrics`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  const text = await res.text();
  for (const line of text.split('\n')) {
    if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  throw new Error(`no metric ${name} in ${res.status} ${text.slice(0, 200)}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns true, up to `timeoutMs`; returns whether it did. */
export async function until(fn: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

/** Opens a Streamable HTTP session by hand (initialize + initialized) and returns its id. */
export async function rawSession(url: string): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: MCP_HEADERS,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  const sid = res.headers.get('mcp-session-id');
  await res.text();
  if (res.status !== 200 || sid === null) throw new Error(`initialize answered ${res.status}`);
  const ack = await fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await ack.text();
  return sid;
}

/**
 * Starts a tools/call on a raw session and hands back the response socket without reading it: the client that
 * reads its SSE stream slowly (resume()/pause() by the caller) or not at all, or goes away (destroy()).
 */
export function rawCall(
  url: string,
  sid: string,
  id: number,
  params: Record<string, unknown>,
): Promise<{ socket: Socket; status: number; read(): Promise<string> }> {
  const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params });
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          ...MCP_HEADERS,
          'mcp-session-id': sid,
          'mcp-protocol-version': '2025-06-18',
          'content-length': Buffer.byteLength(body),
        },
        // A tiny receive buffer, so that a client that does not read fills it quickly.
        agent: false,
      },
      (res) => {
        res.pause();
        const socket = res.socket;
        resolve({
          socket,
          status: res.statusCode ?? 0,
          read: () =>
            new Promise((done, fail) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (c: string) => {
                text += c;
              });
              res.on('end', () => done(text));
              res.on('error', fail);
              res.resume();
            }),
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The remote ports of the TCP connections a process holds (its sockets in /proc/<pid>/fd, looked up in
 * /proc/net/tcp): whether the gateway still holds a given client's connection, whatever other clients keep open.
 */
export function peerPorts(pid: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || !inodes.has(cols[9]!)) continue;
      ports.add(Number.parseInt(cols[2]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

/** Runs one statement on the test PostgreSQL server (CREATE/DROP DATABASE for a test of its own). */
export async function pgSql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: pgUrl() });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** The URL of `database` on the test server, or through a proxy on 127.0.0.1:`port`. */
export function pgDatabaseUrl(database: string, port?: number): string {
  const u = new URL(pgUrl());
  if (port !== undefined) {
    u.hostname = '127.0.0.1';
    u.port = String(port);
  }
  u.pathname = `/${database}`;
  return u.href;
}

/** A TCP proxy in front of the test PostgreSQL server. */
export function proxyToPg(): Promise<TcpProxy> {
  const target = new URL(pgUrl());
  return TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
}
