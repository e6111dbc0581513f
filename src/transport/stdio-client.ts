// Upstream stdio transport: runs an MCP server as a child process in its own process group, JSON-RPC over its pipes.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from 'pino';
import { maskLineEdges } from '../audit/redact.js';
import { WardenError } from '../errors.js';
import { checkMessage, type JsonRpcMessage, refusedAnswer } from './jsonrpc.js';
import type { MessageTransport } from './types.js';

/** The environment a child inherits from the gateway: enough to run, nothing secret (the SDK's choice, widened). */
const INHERITED_ENV = ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER', 'LANG', 'LC_ALL', 'TMPDIR', 'TZ'];

export interface StdioClientOptions {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  log: Logger;
  /** Longest stdout line accepted (bytes); longer output is treated as garbage. */
  maxLineBytes?: number;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills every child's process group when the gateway exits, however it exits (short of SIGKILL, where stdin EOF does it). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) killGroup(child, 'SIGKILL');
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

export class StdioClientTransport implements MessageTransport {
  onmessage?: (message: JsonRpcMessage) => void;
  onclose?: (error?: Error) => void;
  onerror?: (error: Error) => void;

  private child: ChildProcess | undefined;
  private buffer = '';
  private stderrBuffer = '';
  private closed = false;
  private readonly maxLineBytes: number;
  /** The last lines the child wrote to stderr: the first thing to show when it dies. */
  private readonly recentStderr: string[] = [];

  constructor(private readonly opts: StdioClientOptions) {
    this.maxLineBytes = opts.maxLineBytes ?? 64 * 1024 * 1024;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): Promise<void> {
    installExitHook();
    const { command, args, cwd, log } = this.opts;
    const env: Record<string, string> = {};
    for (const k of INHERITED_ENV) {
      const v = process.env[k];
      if (v !== undefined) env[k] = v;
    }
    Object.assign(env, this.opts.env);
    return new Promise((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = spawn(command, args, {
          cwd,
          env,
          stdio: ['pipe', 'pipe', 'pipe'],
          detached: true,
          windowsHide: true,
        });
      } catch (cause) {
        reject(
          new WardenError('UPSTREAM_START_FAILED', `cannot start ${command}: ${(cause as Error).message}`),
        );
        return;
      }
      this.child = child;
      live.add(child);
      let spawned = false;
      child.once('spawn', () => {
        spawned = true;
        resolve();
      });
      child.once('error', (err: NodeJS.ErrnoException) => {
        if (!spawned) {
          const hint =
            err.code === 'ENOENT'
              ? `"${command}" was not found on PATH or in ${cwd}`
              : 'check command and args';
          reject(
            new WardenError('UPSTREAM_START_FAILED', `cannot start ${command}: ${err.message}`, { hint }),
          );
        } else {
          this.onerror?.(err);
        }
      });
      child.once('exit', (code, signal) => {
        live.delete(child);
        // The leader is gone; what it started (npx's own child, say) must not outlive it.
        if (child.pid !== undefined) {
          try {
            process.kill(-child.pid, 'SIGTERM');
          } catch {
            // the group is already empty
          }
        }
        if (!spawned) return;
        const wasClosed = this.closed;
        this.closed = true;
        this.onclose?.(
          wasClosed
            ? undefined
            : new WardenError('UPSTREAM_CLOSED', `process exited (${signal ?? `code ${code}`})`, {
                // The child's stderr may quote its own credentials: it goes to the log, never to the agent.
                detail: this.stderrTail(),
              }),
        );
      });
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => this.onStdout(chunk));
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        this.stderrBuffer += chunk;
        let nl = this.stderrBuffer.indexOf('\n');
        while (nl !== -1) {
          const line = this.stderrBuffer.slice(0, nl).trimEnd();
          this.stderrBuffer = this.stderrBuffer.slice(nl + 1);
          if (line !== '') {
            // Masked line by line, and at its edges: a secret wrapped over two lines shows in neither.
            const shown = maskLineEdges(line);
            log.info({ stderr: shown }, 'upstream stderr');
            this.recentStderr.push(shown.slice(0, 500));
            if (this.recentStderr.length > 5) this.recentStderr.shift();
          }
          nl = this.stderrBuffer.indexOf('\n');
        }
        if (this.stderrBuffer.length > 64 * 1024) {
          log.info({ stderr: maskLineEdges(this.stderrBuffer) }, 'upstream stderr');
          this.stderrBuffer = '';
        }
      });
      // A child that dies while we write gives EPIPE: that is reported through 'exit', not as a crash.
      child.stdin?.on('error', (err) => log.debug({ err: err.message }, 'upstream stdin error'));
    });
  }

  /** The last lines of stderr, masked; undefined when there were none. */
  private stderrTail(): string | undefined {
    const rest = this.stderrBuffer.trim();
    const last = rest === '' ? this.recentStderr : [...this.recentStderr, maskLineEdges(rest)];
    return last.length === 0 ? undefined : last.slice(-3).join(' | ');
  }

  private onStdout(chunk: string): void {
    let text = this.buffer + chunk;
    let nl = text.indexOf('\n');
    while (nl !== -1) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      this.onLine(line);
      nl = text.indexOf('\n');
    }
    if (text.length > this.maxLineBytes) {
      this.opts.log.warn({ bytes: text.length }, 'upstream wrote an over-long line to stdout; discarded');
      text = '';
    }
    this.buffer = text;
  }

  private onLine(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.opts.log.warn({ line: line.slice(0, 200) }, 'upstream wrote a non-JSON line to stdout; ignored');
      return;
    }
    const problem = checkMessage(value);
    if (problem !== undefined) {
      // An answer refused (nested too deep, #17.1) still ends its call, with an error that says why.
      const refused = refusedAnswer(value, problem);
      this.opts.log.warn(
        { problem },
        refused === undefined
          ? 'upstream wrote an invalid JSON-RPC message; ignored'
          : 'upstream wrote an answer that cannot be passed on; its call gets an error',
      );
      if (refused !== undefined) this.onmessage?.(refused);
      return;
    }
    this.onmessage?.(value as JsonRpcMessage);
  }

  send(message: JsonRpcMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (this.closed || !stdin || stdin.destroyed) {
      return Promise.reject(new WardenError('UPSTREAM_CLOSED', 'upstream process is not running'));
    }
    let line: string;
    try {
      line = `${JSON.stringify(message)}\n`;
    } catch (err) {
      // A message that cannot be serialised fails its own send, never the caller's turn of the event loop.
      return Promise.reject(err);
    }
    stdin.write(line);
    return Promise.resolve();
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child || this.closed) return;
    this.closed = true;
    child.stdin?.end();
    // Give the server a moment to exit on EOF, then terminate its whole process group (npx wrappers included).
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const term = setTimeout(() => killGroup(child, 'SIGTERM'), 500);
      const kill = setTimeout(() => killGroup(child, 'SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(term);
        clearTimeout(kill);
        resolve();
      });
    });
  }
}
