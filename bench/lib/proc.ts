// Child-process plumbing for the benchmark: spawn, readiness, /proc process trees, RSS and guaranteed cleanup.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

const TAIL_BYTES = 16 * 1024;

/** Identity of a process: pid plus start time (clock ticks since boot), so a recycled pid is never signalled. */
export interface ProcId {
  pid: number;
  start: number;
}

/** A child process started by the harness, with the tail of its output kept for error reports. */
export interface Managed {
  name: string;
  child: ChildProcess;
  root: ProcId;
  /** Every descendant ever seen, so orphans of a dead parent can still be killed. */
  seen: Map<number, ProcId>;
  output: () => string;
  exited: () => boolean;
}

const live = new Set<Managed>();

interface StatFields {
  ppid: number;
  pgrp: number;
  start: number;
  /** utime + stime of the process itself, in clock ticks. */
  cpu: number;
}

function readStat(pid: number): StatFields | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may contain spaces: parse after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(rest[1]);
  const pgrp = Number(rest[2]);
  const start = Number(rest[19]);
  const cpu = Number(rest[11]) + Number(rest[12]);
  if (!Number.isFinite(ppid) || !Number.isFinite(start)) return undefined;
  return { ppid, pgrp, start, cpu: Number.isFinite(cpu) ? cpu : 0 };
}

function alive(id: ProcId): boolean {
  return readStat(id.pid)?.start === id.start;
}

/** All live descendants of `root` (not including root), found by scanning /proc once. */
export function descendants(root: number): ProcId[] {
  const parentOf = new Map<number, StatFields>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat) parentOf.set(pid, stat);
  }
  const childrenOf = new Map<number, number[]>();
  for (const [pid, stat] of parentOf) {
    const list = childrenOf.get(stat.ppid) ?? [];
    list.push(pid);
    childrenOf.set(stat.ppid, list);
  }
  const out: ProcId[] = [];
  const queue = [root];
  // Bounded by the number of processes on the machine: each pid is visited at most once.
  const visited = new Set<number>();
  while (queue.length > 0 && visited.size <= parentOf.size) {
    const pid = queue.shift()!;
    if (visited.has(pid)) continue;
    visited.add(pid);
    for (const c of childrenOf.get(pid) ?? []) {
      const stat = parentOf.get(c);
      if (stat) out.push({ pid: c, start: stat.start });
      queue.push(c);
    }
  }
  return out;
}

/** CPU time (user + system, clock ticks) used so far by a process tree's live members. */
export function treeCpuTicks(root: number): number {
  let total = readStat(root)?.cpu ?? 0;
  for (const id of descendants(root)) total += readStat(id.pid)?.cpu ?? 0;
  return total;
}

/** CPU time (user + system, clock ticks) used so far by one process, without its children. */
export function processCpuTicks(pid: number): number {
  return readStat(pid)?.cpu ?? 0;
}

/** CPU time used so far by this process itself, in clock ticks. */
export function selfCpuTicks(): number {
  return readStat(process.pid)?.cpu ?? 0;
}

/** Machine-wide CPU ticks from /proc/stat: busy (user, nice, system, irq, softirq, steal) and total. */
export function systemTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const at = (i: number): number => (Number.isFinite(v[i]) ? (v[i] as number) : 0);
  const busy = at(0) + at(1) + at(2) + at(5) + at(6) + at(7);
  return { busy, total: busy + at(3) + at(4) };
}

/** Memory figures of one process from /proc/<pid>/status, in kB. */
export interface ProcMem {
  pid: number;
  command: string;
  rssKb: number;
  hwmKb: number;
}

export function readMem(pid: number): ProcMem | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number => {
      const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
      return m?.[1] === undefined ? 0 : Number(m[1]);
    };
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const command = cmdline
      .map((a) => (a.length > 60 ? `…${a.slice(-40)}` : a))
      .join(' ')
      .slice(0, 160);
    return { pid, command, rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Memory of the managed process and all its current descendants; also records them for cleanup. */
export function treeMem(m: Managed): ProcMem[] {
  const ids = [m.root, ...descendants(m.root.pid)];
  for (const id of ids) m.seen.set(id.pid, id);
  const out: ProcMem[] = [];
  for (const id of ids) {
    const mem = readMem(id.pid);
    if (mem) out.push(mem);
  }
  return out;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts a process in its own process group with stdout/stderr drained into a bounded tail buffer. */
export function start(opts: SpawnOptions): Managed {
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let tail = '';
  let done = false;
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('exit', () => {
    done = true;
  });
  child.on('error', (err) => {
    done = true;
    tail += `\nspawn error: ${err.message}`;
  });
  const pid = child.pid ?? -1;
  const stat = pid > 0 ? readStat(pid) : undefined;
  const managed: Managed = {
    name: opts.name,
    child,
    root: { pid, start: stat?.start ?? -1 },
    seen: new Map(),
    output: () => tail,
    exited: () => done,
  };
  if (pid > 0) live.add(managed);
  return managed;
}

/** Resolves with the first match of `pattern` in the process's stderr, or rejects on exit/timeout. */
export function waitForLine(m: Managed, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const cleanup = (): void => {
      clearTimeout(timer);
      m.child.stderr?.off('data', onData);
      m.child.off('exit', onExit);
    };
    const onData = (chunk: Buffer): void => {
      buffer = (buffer + chunk.toString('utf8')).slice(-TAIL_BYTES);
      const match = pattern.exec(buffer);
      if (match) {
        cleanup();
        resolve(match);
      }
    };
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup();
      reject(new Error(`${m.name} exited (code ${code}, signal ${signal}) before ready:\n${m.output()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${m.name} not ready after ${timeoutMs} ms:\n${m.output()}`));
    }, timeoutMs);
    m.child.stderr?.on('data', onData);
    m.child.once('exit', onExit);
  });
}

/** Polls a loopback TCP port until it accepts a connection (bounded by timeoutMs). */
export async function waitForPort(m: Managed, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (m.exited()) throw new Error(`${m.name} exited before listening:\n${m.output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ host: '127.0.0.1', port });
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${m.name} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms:\n${m.output()}`);
}

/** Asks the kernel for a free loopback port. Another process could take it before use; callers retry. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function signalAll(m: Managed, signal: NodeJS.Signals): void {
  for (const id of [...m.seen.values(), m.root]) {
    if (!alive(id)) continue;
    const stat = readStat(id.pid);
    try {
      // A process that leads its own group (ours, or one a proxy detached) gets the whole group signalled.
      if (stat && stat.pgrp === id.pid) process.kill(-id.pid, signal);
      else process.kill(id.pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Stops a managed process and every descendant it ever had: SIGTERM, then SIGKILL after graceMs. */
export async function stop(m: Managed, graceMs = 2000): Promise<void> {
  if (m.root.pid <= 0) return;
  for (const id of descendants(m.root.pid)) m.seen.set(id.pid, id);
  signalAll(m, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (![...m.seen.values(), m.root].some(alive)) break;
    await sleep(50);
  }
  signalAll(m, 'SIGKILL');
  live.delete(m);
}

/** Synchronous last-resort cleanup for process exit paths (uncaught errors, signals). */
export function killAllSync(): void {
  for (const m of live) {
    if (m.root.pid > 0 && alive(m.root)) {
      for (const id of descendants(m.root.pid)) m.seen.set(id.pid, id);
    }
    signalAll(m, 'SIGKILL');
  }
  live.clear();
}
