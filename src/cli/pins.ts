// `warden pins list|accept`: the pinned definitions of tools, and accepting a definition that changed.
import type { Command } from 'commander';
import pino from 'pino';
import { WardenError } from '../errors.js';
import { ToolCatalog } from '../risk/catalog.js';
import { openPinStore } from '../store/open.js';
import type { Pin } from '../store/pins.js';
import { runWithStore } from './common.js';

interface Flags {
  config: string;
  json?: boolean;
}

function run(
  configFile: string,
  fn: (catalog: ToolCatalog, list: (changedOnly: boolean) => Promise<Pin[]>) => Promise<void>,
): Promise<never> {
  return runWithStore(
    configFile,
    (storage, baseDir) => openPinStore(storage, { baseDir }),
    (pins, audit) => {
      const log = pino({ level: 'warn' }, pino.destination({ fd: 2, sync: true }));
      return fn(new ToolCatalog({ pins, audit, log }), (changedOnly) => pins.list({ changedOnly }));
    },
  );
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
