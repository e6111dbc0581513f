// `warden approvals list|show|approve|deny`: decide held calls from a shell, against the config's storage.
import type { Command } from 'commander';
import pino from 'pino';
import {
  argumentsForApprover,
  escapeHidden,
  escapeHiddenJson,
  hiddenCharacters,
} from '../approvals/display.js';
import { ApprovalService } from '../approvals/service.js';
import { approvalView } from '../dashboard/admin.js';
import { WardenError } from '../errors.js';
import type { Approval, ApprovalStatus } from '../store/approvals.js';
import { openApprovalStore } from '../store/open.js';
import { runWithStore } from './common.js';

interface Flags {
  config: string;
  json?: boolean;
}

const ACTOR = '(cli)';

function run(configFile: string, fn: (service: ApprovalService) => Promise<void>): Promise<never> {
  return runWithStore(
    configFile,
    (storage, baseDir) => openApprovalStore(storage, { baseDir }),
    async (store, audit, config) => {
      // A decision made here wakes the gateway holding the call at once through Redis; without Redis the gateway
      // notices within a second (it polls the store).
      const bus = config.state.startsWith('redis')
        ? (await import('../state/approval-bus.js')).RedisApprovalBus.open(config.state)
        : undefined;
      const service = new ApprovalService({
        store,
        audit,
        log: pino({ level: 'warn' }, pino.destination({ fd: 2, sync: true })),
        webhooks: config.approvalWebhooks,
        bus,
      });
      try {
        await fn(service);
        await service.deliveriesDone();
      } finally {
        await bus?.close();
      }
    },
  );
}

/** JSON for a script: hidden characters as \u escapes (the same value, nothing a terminal would act on). */
function jsonLine(a: Approval): string {
  return `${escapeHiddenJson(JSON.stringify(approvalView(a)))}\n`;
}

function line(a: Approval): string {
  const who = a.grantLabel ?? '(anonymous)';
  // A flag on the line itself: the list is where an approver looks first (#17.16).
  const flag = hiddenCharacters(a.arguments).length > 0 ? '  !hidden-characters' : '';
  return escapeHidden(
    `${a.id}  ${a.status.padEnd(9)}  ${a.server}/${a.tool}  grant=${who}  risk=${a.risk ?? '?'}  ${a.createdAt}${flag}`,
  );
}

function show(a: Approval, json: boolean | undefined): void {
  if (json) {
    process.stdout.write(jsonLine(a));
    return;
  }
  const hidden = hiddenCharacters(a.arguments);
  const lines = [
    line(a),
    `  rule: ${a.rule}${a.reason === undefined ? '' : `  (${a.reason})`}`,
    `  session: ${a.session}  mode: ${a.mode}  expires: ${a.expiresAt}`,
    // Secrets masked, hidden characters written as \u{202E} (#17.14, #17.16).
    `  arguments: ${escapeHidden(JSON.stringify(argumentsForApprover(a.arguments), null, 2)).replace(/\n/g, '\n  ')}`,
  ];
  for (const h of hidden) {
    lines.push(
      `  warning: ${h.inKey ? 'the name of ' : ''}${h.path === '' ? '(arguments)' : h.path} holds invisible or bidi characters: ${h.characters.join(' ')}`,
    );
  }
  if (a.decidedBy !== undefined)
    lines.push(`  decided by ${a.decidedBy} at ${a.decidedAt}${a.note ? `: ${a.note}` : ''}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function mustGet(service: ApprovalService, id: string): Promise<Approval> {
  const a = await service.store.get(id);
  if (a === undefined) throw new WardenError('CONFIG_INVALID', `no approval ${id}`);
  return a;
}

async function decide(id: string, flags: Flags & { note?: string }, status: 'approved' | 'rejected') {
  await run(flags.config, async (service) => {
    await mustGet(service, id);
    const decided = await service.decide(id, status, ACTOR, flags.note);
    if (decided === undefined) {
      throw new WardenError(
        'CONFIG_INVALID',
        `${await service.notPending(id)}; it cannot be decided any more`,
      );
    }
    if (flags.json) show(decided, true);
    else process.stdout.write(`${id} ${status}\n`);
  });
}

export function registerApprovalCommands(program: Command): void {
  const approvals = program
    .command('approvals')
    .description('calls waiting for a person: list, show, decide');
  approvals
    .command('list')
    .description('approvals, newest first (pending by default)')
    .option('-c, --config <file>', 'config file', 'warden.yaml')
    .option(
      '--status <status>',
      'pending, approved, rejected, expired, cancelled, consumed or all',
      'pending',
    )
    .option('--json', 'one JSON object per line')
    .action((flags: Flags & { status: string }) =>
      run(flags.config, async (service) => {
        const statuses = ['pending', 'approved', 'rejected', 'expired', 'cancelled', 'consumed', 'all'];
        if (!statuses.includes(flags.status))
          throw new WardenError('CONFIG_INVALID', `--status must be one of ${statuses.join(', ')}`);
        const list = await service.store.list({
          ...(flags.status === 'all' ? {} : { status: flags.status as ApprovalStatus }),
          limit: 1000,
        });
        for (const a of list) {
          process.stdout.write(flags.json ? jsonLine(a) : `${line(a)}\n`);
        }
      }),
    );
  approvals
    .command('show <id>')
    .description('one approval with its arguments')
    .option('-c, --config <file>', 'config file', 'warden.yaml')
    .option('--json', 'machine output')
    .action((id: string, flags: Flags) =>
      run(flags.config, async (service) => show(await mustGet(service, id), flags.json)),
    );
  approvals
    .command('approve <id>')
    .description('let the call through (a held call is forwarded; an async one goes through when made again)')
    .option('-c, --config <file>', 'config file', 'warden.yaml')
    .option('--note <text>', 'why, for the audit log and the agent')
    .option('--json', 'machine output')
    .action((id: string, flags: Flags & { note?: string }) => decide(id, flags, 'approved'));
  approvals
    .command('deny <id>')
    .description('refuse the call; the agent reads the note')
    .option('-c, --config <file>', 'config file', 'warden.yaml')
    .option('--note <text>', 'why, for the audit log and the agent')
    .option('--json', 'machine output')
    .action((id: string, flags: Flags & { note?: string }) => decide(id, flags, 'rejected'));
}
