// Runs the built CLI (dist/cli/main.js) as a real process: serve with its ready line, or one-shot commands.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { CLI, ROOT, tempDir } from './gateway.js';

export interface ServeProcess {
  child: ChildProcess;
  mcpUrl: string;
  adminUrl: string;
  stderr: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Writes a config file; tests that are not about identity run anonymous unless the YAML has its own `auth:`. */
export function writeConfig(yaml: string): string {
  const file = join(tempDir(), 'warden.yaml');
  writeFileSync(file, /^auth:/m.test(yaml) ? yaml : `${yaml}\nauth: { anonymous: true }\n`);
  return file;
}

/** `warden serve` on free ports; `node` adds arguments for Node itself and variables to the environment. */
export function serveCli(
  configFile: string,
  extraArgs: string[] = [],
  node: { args?: string[]; env?: Record<string, string> } = {},
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [
      ...(node.args ?? []),
      CLI,
      'serve',
      '--config',
      configFile,
      '--listen',
      '127.0.0.1:0',
      '--admin',
      '127.0.0.1:0',
      ...extraArgs,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...node.env } },
  );
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => {
    err += c;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 20 s: ${err}`)), 20_000);
    child.stderr!.on('data', () => {
      const m = /^listening mcp=(\S+) admin=(\S+)$/m.exec(err);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        child,
        mcpUrl: m[1]!,
        adminUrl: m[2]!,
        stderr: () => err,
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done(child.exitCode);
            child.once('exit', (code) => done(code));
            child.kill('SIGTERM');
          }),
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`warden exited with ${code}: ${err}`));
    });
  });
}

export function runCli(args: string[], input?: string) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', input, timeout: 30_000 });
}

/** One HTTP request with full control over headers (fetch will not send a Host of our choosing). */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'POST', headers: options.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
