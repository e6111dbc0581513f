// What every command shares: loading the config with command-line overrides, and turning errors into exit codes.
import { dirname } from 'node:path';
import type { NewAuditEntry } from '../audit/chain.js';
import { maskString } from '../audit/redact.js';
import { AuditWriter } from '../audit/writer.js';
import { loadConfigFile } from '../config/load.js';
import { type GatewayConfig, parseHostPort, resolveConfig } from '../config/resolve.js';
import { ConfigError, WardenError } from '../errors.js';
import type { Logger } from '../log.js';
import { openAuditStore } from '../store/open.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface ConfigFlags {
  config: string;
  listen?: string;
  admin?: string;
  logLevel?: string;
}

const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

export function loadGatewayConfig(flags: ConfigFlags): GatewayConfig {
  const config = resolveConfig(loadConfigFile(flags.config));
  for (const [flag, value] of [
    ['--listen', flags.listen],
    ['--admin', flags.admin],
  ] as const) {
    if (value === undefined) continue;
    if (!HOST_PORT.test(value)) {
      throw new ConfigError([
        { file: '(command line)', path: flag, message: `expected HOST:PORT, got "${value}"` },
      ]);
    }
    if (flag === '--listen') config.listen = parseHostPort(value);
    else config.admin = parseHostPort(value);
  }
  if (flags.logLevel !== undefined) config.logLevel = flags.logLevel;
  return config;
}

/** The config's warnings (client keys left out, server names given an id) as log lines. */
export function logConfigWarnings(config: GatewayConfig, log: Logger): void {
  for (const w of config.warnings) {
    log.warn({ file: w.file, line: w.line, path: w.path, hint: w.hint }, `config: ${w.message}`);
  }
}

/**
 * The serving commands' last resort (#17.1): a fault that slipped past every handler of the request path (a throw in
 * a socket's event handler, a promise nobody awaited) is logged, and the gateway keeps serving its other agents
 * instead of ending every session at once. Everything on the request path catches its own faults and answers its
 * request; this only catches what escaped.
 */
export function keepServingOnFaults(log: Logger): void {
  process.on('uncaughtException', (err, origin) => {
    log.error({ err, origin }, 'uncaught fault: logged, and the gateway keeps serving');
  });
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection: logged, and the gateway keeps serving');
  });
}

/** Prints an error for people on stderr and exits: 2 for config and usage errors, 1 for everything else. */
export function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(
      `warden: ${err.problems.length} problem${err.problems.length > 1 ? 's' : ''} found:\n`,
    );
    for (const line of err.message.split('\n')) process.stderr.write(`  ${line}\n`);
    process.exit(EXIT_USAGE);
  }
  if (err instanceof WardenError) {
    // Masked: a message may quote a URL or an upstream's words; the detail is what the upstream said (its stderr).
    process.stderr.write(`warden: ${maskString(err.message)}\n`);
    if (err.detail) process.stderr.write(`  upstream said: ${maskString(err.detail)}\n`);
    if (err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
    process.exit(
      err.code === 'CONFIG_NOT_FOUND' ||
        err.code === 'CONFIG_INVALID' ||
        err.code === 'NOT_FOUND' ||
        err.code === 'CONFLICT'
        ? EXIT_USAGE
        : EXIT_FAILURE,
    );
  }
  process.stderr.write(`warden: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(EXIT_FAILURE);
}

/**
 * Runs a command against one of the config's stores, with the audit log open for the events it records; closes
 * everything, then exits 0, or through fail() with the error's exit code.
 */
export async function runWithStore<S extends { close(): Promise<void> }>(
  configFile: string,
  openStore: (storage: string, baseDir: string) => Promise<S>,
  fn: (store: S, audit: (entry: NewAuditEntry) => Promise<unknown>, config: GatewayConfig) => Promise<void>,
): Promise<never> {
  try {
    const config = loadGatewayConfig({ config: configFile });
    const baseDir = dirname(config.file);
    const auditStore = await openAuditStore(config.storage, {
      baseDir,
      sqlite: { durability: config.auditDurability },
    });
    const store = await openStore(config.storage, baseDir).catch(async (err) => {
      await auditStore.close();
      throw err;
    });
    const writer = new AuditWriter(auditStore, { maxDelayMs: 0 });
    try {
      await fn(store, (e) => writer.write(e), config);
    } finally {
      await writer.close();
      await store.close();
      await auditStore.close();
    }
    process.exit(EXIT_OK);
  } catch (err) {
    fail(err);
  }
}
