// `warden pins list|diff|accept`: the pinned definitions of tools, what changed in one waiting for a person, and
// accepting it.
import type { Command } from 'commander';
import pino from 'pino';
import { WardenError } from '../errors.js';
import { ToolCatalog } from '../risk/catalog.js';
import { formatDiff, pinReview } from '../risk/pin-diff.js';
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
      // Waiting for a person: a changed definition, or a first-use pin flagged as poisoning that nobody vouched for.
      const list = async (waiting: boolean) =>
        (await pins.list()).filter((p) => !waiting || pinReview(p).review !== null);
      return fn(new ToolCatalog({ pins, audit, log }), list);
    },
  );
}

function view(p: Pin, diff = false): Record<string, unknown> {
  const r = pinReview(p);
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
    poisoned: r.review?.poisoned ?? false,
    reviewHash: r.review?.hash ?? null,
    ...(diff ? { review: r.review } : {}),
  };
}

/** One line per pin for people; with `diff`, the difference a person must review under it. */
function line(p: Pin, diff: boolean): string {
  const r = pinReview(p);
  const state = r.review === null ? 'pinned ' : r.review.reason === 'changed' ? 'CHANGED' : 'POISON ';
  const head = `${state}  ${p.server}/${p.tool}  ${p.hash.slice(0, 12)}${p.changedHash === undefined ? '' : ` -> ${p.changedHash.slice(0, 12)} since ${p.changedAt}`}${r.review?.poisoned ? '  (flagged as tool poisoning)' : ''}\n`;
  if (!diff || r.review === null) return head;
  const findings = r.review.poisoning.map((s) => `  poisoning: ${s.evidence}\n`).join('');
  return `${head}${findings}${formatDiff(r.review.diff)}\n`;
}

export function registerPinCommands(program: Command): void {
  const pins = program.command('pins').description('pinned tool definitions (trust on first use)');
  pins
    .command('list')
    .description('every pinned tool, or with --changed those whose definition changed and waits for an admin')
    .option('-c, --config <file>', 'config file', 'warden.yaml')
    .option('--changed', 'only tools whose definition waits for a person (changed, or flagged as poisoning)')
    .option('--diff', 'show what changed under each tool that waits for a person')
    .option('--json', 'one JSON object per line')
    .action((flags: Flags & { changed?: boolean; diff?: boolean }) =>
      run(flags.config, async (_catalog, list) => {
        for (const p of await list(flags.changed === true)) {
          if (flags.json) process.stdout.write(`${JSON.stringify(view(p, flags.diff === true))}\n`);
          else process.stdout.write(line(p, flags.diff === true));
        }
      }),
    );
  pins
    .command('diff <server> <tool>')
    .description(
      "what differs between a tool's accepted definition and the one waiting for a person (hidden characters escaped)",
    )
    .option('-c, --config <file>', 'config file', 'warden.yaml')
    .option('--json', 'machine output')
    .action((server: string, tool: string, flags: Flags) =>
      run(flags.config, async (catalog) => {
        const pin = await catalog.pin(server, tool);
        if (pin === undefined) throw new WardenError('CONFIG_INVALID', `${server}/${tool} has no pin`);
        if (flags.json) process.stdout.write(`${JSON.stringify(pinReview(pin))}\n`);
        else process.stdout.write(line(pin, true));
      }),
    );
  pins
    .command('accept <server> [tool]')
    .description(
      "accept a tool's changed (or poisoned) definition as its pin (--all: every such tool of the server)",
    )
    .option('-c, --config <file>', 'config file', 'warden.yaml')
    .option('--all', 'every tool of the server whose definition waits for a person')
    .option('--hash <sha256>', 'accept only this definition (the reviewHash that list or diff showed)')
    .option('--json', 'machine output')
    .action((server: string, tool: string | undefined, flags: Flags & { all?: boolean; hash?: string }) =>
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
          const pin = await catalog.accept(server, t, '(cli)', flags.hash);
          if (pin === undefined)
            throw new WardenError(
              'CONFIG_INVALID',
              flags.hash === undefined
                ? `${server}/${t} has no changed definition to accept`
                : `${server}/${t} has no definition ${flags.hash.slice(0, 12)} waiting to be accepted`,
            );
          process.stdout.write(
            flags.json
              ? `${JSON.stringify(view(pin))}\n`
              : `${server}/${t} accepted (${pin.hash.slice(0, 12)})\n`,
          );
        }
      }),
    );
}
