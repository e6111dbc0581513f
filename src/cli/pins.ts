// `warden pins list|accept`: the pinned definitions of tools, and accepting a definition that changed.
import { dirname } from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import { AuditWriter } from '../audit/writer.js';
import { WardenError } from '../errors.js';
import { ToolCatalog } from '../risk/catalog.js';
import { openAuditStore, openPinStore } from '../store/open.js';
import type { Pin } from '../store/pins.js';
import { EXIT_OK, fail, loadGatewayConfig } from './common.js';

interface Flags {
  config: string;
  json?: boolean;
}

async function run(
  configFile: string,
  fn: (catalog: ToolCatalog, list: (changedOnly: boolean) => Promise<Pin[]>) => Promise<void>,
) {
  try {
    const config = loadGatewayConfig({ config: configFile });
    const baseDir = dirname(config.file);
    const audit = await openAuditStore(config.storage, {
      baseDir,
      sqlite: { durability: config.auditDurability },
    });
    const pins = await openPinStore(config.storage, { baseDir }).catch(async (err) => {
      await audit.close();
      throw err;
    });
    const writer = new AuditWriter(audit, { maxDelayMs: 0 });
    const catalog = new ToolCatalog({
      pins,
      audit: (e) => writer.write(e),
      log: pino({ level: 'warn' }, pino.destination({ fd: 2, sync: true })),
    });
    try {
      await fn(catalog, (changedOnly) => pins.list({ changedOnly }));
    } finally {
      await writer.close();
      await pins.close();
      await audit.close();
    }
    process.exit(EXIT_OK);
  } catch (err) {
    fail(err);
  }
}

function view(p: Pin): Record<string, unknown> {
  return {
    server: p.server,
    tool: p.tool,
    hash: p.hash,
    firstSeenAt: p.firstSeenAt,
    acceptedAt: p.acceptedAt,
    acceptedBy: p.acceptedBy,
    changed: p.changedHash !== undefined,
    changedHash: p.changedHash ?? null,
    changedAt: p.changedAt ?? null,
  };
}

export function registerPinCommands(program: Command): void {
  const pins = program.command('pins').description('pinned tool definitions (trust on first use)');
  pins
    .command('list')
    .description('every pinned tool, or with --changed those whose definition changed and waits for an admin')
    .option('-c, --config <file>', 'config file', 'warden.yaml')
    .option('--changed', 'only tools with a changed definition')
    .option('--json', 'one JSON object per line')
    .action((flags: Flags & { changed?: boolean }) =>
      run(flags.config, async (_catalog, list) => {
        for (const p of await list(flags.changed === true)) {
          if (flags.json) process.stdout.write(`${JSON.stringify(view(p))}\n`);
          else {
            const state = p.changedHash === undefined ? 'pinned ' : 'CHANGED';
            process.stdout.write(
              `${state}  ${p.server}/${p.tool}  ${p.hash.slice(0, 12)}${p.changedHash === undefined ? '' : ` -> ${p.changedHash.slice(0, 12)} since ${p.changedAt}`}\n`,
            );
          }
        }
      }),
    );
  pins
    .command('accept <server> [tool]')
    .description("make a tool's changed definition its pin (--all: every changed tool of the server)")
    .option('-c, --config <file>', 'config file', 'warden.yaml')
    .option('--all', 'every changed tool of the server')
    .option('--json', 'machine output')
    .action((server: string, tool: string | undefined, flags: Flags & { all?: boolean }) =>
      run(flags.config, async (catalog, list) => {
        const tools =
          flags.all === true
            ? (await list(true)).filter((p) => p.server === server).map((p) => p.tool)
            : tool === undefined
              ? []
              : [tool];
        if (tools.length === 0) {
          throw new WardenError(
            'CONFIG_INVALID',
            flags.all ? `no changed tools on ${server}` : 'name a tool, or use --all',
          );
        }
        for (const t of tools) {
          const pin = await catalog.accept(server, t, '(cli)');
          if (pin === undefined)
            throw new WardenError('CONFIG_INVALID', `${server}/${t} has no changed definition to accept`);
          process.stdout.write(
            flags.json
              ? `${JSON.stringify(view(pin))}\n`
              : `${server}/${t} accepted (${pin.hash.slice(0, 12)})\n`,
          );
        }
      }),
    );
}
