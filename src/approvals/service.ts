// Approvals: a call that needs a person is recorded, announced, waited for and decided here, on any replica.
//
// The store (SQLite or PostgreSQL) is the truth: a decision is one atomic update there, so two approvers (or an
// approver and the expiry) cannot both win. A waiting call learns of it at once when the decision is made in this
// process, through the bus (Redis pub/sub) when it is made on another replica, and otherwise by polling the store
// (every second), which also covers `warden approvals approve` run from a shell.
import { createHash, randomBytes } from 'node:crypto';
import { canonicalJson, type NewAuditEntry } from '../audit/chain.js';
import { eventBody } from '../audit/record.js';
import { WardenError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Approval, ApprovalMode, ApprovalStatus, ApprovalStore } from '../store/approvals.js';
import { argumentsForApprover, hiddenCharacters } from './display.js';
import { type ApprovalNotice, sendWebhook, type WebhookConfig } from './webhook.js';

/** Carries "approval <id> was decided" between replicas. */
export interface ApprovalBus {
  publish(id: string): Promise<void>;
  subscribe(onDecided: (id: string) => void): void;
  close(): Promise<void>;
}

export interface ApprovalServiceOptions {
  store: ApprovalStore;
  /** Appends an audit entry (durably). */
  audit: (entry: NewAuditEntry) => Promise<unknown>;
  log: Logger;
  webhooks?: readonly WebhookConfig[];
  bus?: ApprovalBus | undefined;
  /** Where approvers decide, for webhook messages and agents: the dashboard's base URL (read when needed). */
  dashboardUrl?: string | (() => string) | undefined;
  pollMs?: number;
  now?: () => number;
}

export interface ApprovalRequest {
  mode: ApprovalMode;
  server: string;
  tool: string;
  arguments: Record<string, unknown>;
  rule: string;
  reason: string | undefined;
  risk: string | undefined;
  grantId: string | undefined;
  grantLabel: string | undefined;
  session: string;
  timeoutMs: number;
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function newId(): string {
  const bytes = randomBytes(20);
  let out = 'apr_';
  for (const b of bytes) out += ID_ALPHABET[b & 31];
  return out;
}

/** What makes two calls "the same call" for an async approval: server, tool, arguments, rule and grant. */
export function approvalFingerprint(
  server: string,
  tool: string,
  args: Record<string, unknown>,
  rule: string,
  grantId: string | undefined,
): string {
  return createHash('sha256')
    .update(canonicalJson([server, tool, args, rule, grantId ?? null]))
    .digest('hex');
}

type Decided = Exclude<ApprovalStatus, 'pending' | 'consumed'>;

export class ApprovalService {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly pollMs: number;
  private readonly now: () => number;
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;
  /** Webhook deliveries under way (with their retries). */
  private readonly deliveries = new Set<Promise<boolean>>();
  /** Pending approvals in the store, as of the last sweep (for the metric). */
  pendingCount = 0;

  constructor(private readonly opts: ApprovalServiceOptions) {
    this.pollMs = opts.pollMs ?? 1000;
    this.now = opts.now ?? Date.now;
    opts.bus?.subscribe((id) => this.wake(id));
  }

  /** Expires due approvals every `everyMs` (one replica winning each, by the store's atomic update). */
  startSweeper(everyMs = 1000): void {
    this.sweeper = setInterval(() => {
      this.expireDue()
        .then(() => this.opts.store.countPending())
        .then((n) => {
          this.pendingCount = n;
        })
        .catch((err: Error) => this.opts.log.warn({ err: err.message }, 'approval expiry failed'));
    }, everyMs);
    this.sweeper.unref();
  }

  get store(): ApprovalStore {
    return this.opts.store;
  }

  private iso(ms = this.now()): string {
    return new Date(ms).toISOString();
  }

  /** Records a pending approval, audits it and announces it (webhooks). */
  async request(r: ApprovalRequest): Promise<Approval> {
    const created = this.now();
    const approval: Approval = {
      id: newId(),
      status: 'pending',
      mode: r.mode,
      server: r.server,
      tool: r.tool,
      arguments: r.arguments,
      fingerprint: approvalFingerprint(r.server, r.tool, r.arguments, r.rule, r.grantId),
      rule: r.rule,
      reason: r.reason,
      risk: r.risk,
      grantId: r.grantId,
      grantLabel: r.grantLabel,
      session: r.session,
      createdAt: this.iso(created),
      expiresAt: this.iso(created + r.timeoutMs),
      decidedAt: undefined,
      decidedBy: undefined,
      note: undefined,
      consumedAt: undefined,
    };
    await this.opts.store.create(approval);
    await this.record('approval.requested', approval, '(agent)');
    this.announce('approval.requested', approval);
    return approval;
  }

  /**
   * Decides a pending approval. `by` is the approver's label; an approver is an admin identity, never the grant
   * that made the call. Returns the approval as decided, or undefined when it was no longer pending.
   */
  async decide(id: string, status: Decided, by: string, note?: string): Promise<Approval | undefined> {
    const decided = await this.opts.store.decide(id, status, by, note, this.iso());
    if (decided === undefined) return undefined;
    await this.record(`approval.${status}`, decided, by, note);
    this.announce(`approval.${status}`, decided);
    this.wake(id);
    await this.opts.bus
      ?.publish(id)
      .catch((err: Error) => this.opts.log.warn({ err: err.message }, 'approval bus unavailable'));
    return decided;
  }

  /** Spends an approved async approval for this call (exactly once), auditing it. */
  async consume(fingerprint: string): Promise<Approval | undefined> {
    const spent = await this.opts.store.consume(fingerprint, this.iso());
    if (spent !== undefined) await this.record('approval.consumed', spent, '(agent)');
    return spent;
  }

  /** Spends the approval a 2026 retry names (exactly once, and only for the call it approved), auditing it. */
  async consumeById(id: string, fingerprint: string): Promise<Approval | undefined> {
    const spent = await this.opts.store.consumeById(id, fingerprint, this.iso());
    if (spent !== undefined) await this.record('approval.consumed', spent, '(agent)');
    return spent;
  }

  /** The approval as stored (undefined when there is no such approval). */
  get(id: string): Promise<Approval | undefined> {
    return this.opts.store.get(id);
  }

  findPending(fingerprint: string): Promise<Approval | undefined> {
    return this.opts.store.findPending(fingerprint, this.iso());
  }

  /**
   * Resolves with the approval once it is no longer pending: decided anywhere, expired at its deadline, or
   * cancelled when `signal` aborts (the agent cancelled the call or went away; a string `signal.reason` becomes the
   * approval's note, which approvers and webhooks see). With `holdMs`, resolves with the approval still pending
   * once that long has passed (the caller answers the agent; the approval stays open for a repeated call).
   */
  async wait(id: string, signal: AbortSignal, holdMs?: number): Promise<Approval> {
    const holdUntilMs = holdMs === undefined ? undefined : this.now() + holdMs;
    for (;;) {
      const current = await this.opts.store.get(id);
      if (current === undefined)
        throw new WardenError('INTERNAL', `approval ${id} disappeared from the store`);
      if (current.status !== 'pending') return current;
      const left = Date.parse(current.expiresAt) - this.now();
      if (signal.aborted || this.closed || left <= 0) {
        const status: Decided = left <= 0 ? 'expired' : 'cancelled';
        const by = left <= 0 ? '(timeout)' : this.closed ? '(gateway)' : '(agent)';
        const note =
          left <= 0
            ? undefined
            : this.closed
              ? 'The gateway stopped before anyone decided.'
              : typeof signal.reason === 'string'
                ? signal.reason
                : undefined;
        const decided = await this.decide(id, status, by, note);
        // Someone else may have decided first: read what won.
        if (decided !== undefined) return decided;
        continue;
      }
      const held = holdUntilMs === undefined ? left : holdUntilMs - this.now();
      if (held <= 0) return current;
      await this.sleepUntilWoken(id, Math.min(left, this.pollMs, held), signal);
    }
  }

  /**
   * What an approver is told when approval `id` can no longer be decided: what became of it, and whether its call
   * can still run (#17.24: a call whose agent cancelled or went away never does).
   */
  async notPending(id: string): Promise<string> {
    const a = await this.opts.store.get(id);
    if (a === undefined) return `no approval ${id}`;
    const by = a.decidedBy === undefined ? '' : ` by ${a.decidedBy}`;
    const note = a.note === undefined ? '' : ` (${a.note.replace(/[.\s]+$/, '')})`;
    switch (a.status) {
      case 'cancelled':
        return `approval ${id} was cancelled${by}${note}: its call was withdrawn and will not run`;
      case 'expired':
        return `approval ${id} expired at ${a.expiresAt}: its call was not run`;
      case 'consumed':
        return `approval ${id} was approved and its call has run`;
      case 'pending':
        return `approval ${id} is pending`;
      default:
        return `approval ${id} was already ${a.status}${by}${note}`;
    }
  }

  private dashboardUrl(): string | undefined {
    const url = this.opts.dashboardUrl;
    return typeof url === 'function' ? url() : url;
  }

  /** The dashboard page of approval `id`, when the dashboard is on (a URL-mode elicitation points there). */
  approvalUrl(id: string): string | undefined {
    const base = this.dashboardUrl();
    return base === undefined ? undefined : `${base}/#/approvals/${id}`;
  }

  /** Where and how a person decides approval `id`, for what the agent reads. */
  howToDecide(id: string): string {
    const base = this.dashboardUrl();
    const page = base === undefined ? '' : `on the dashboard at ${base}/#/approvals/${id} or `;
    return `${page}with \`warden approvals approve ${id}\``;
  }

  private sleepUntilWoken(id: string, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(id);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(id, set);
      }
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        set!.delete(done);
        if (set!.size === 0) this.waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  private wake(id: string): void {
    const set = this.waiters.get(id);
    if (set !== undefined) for (const w of [...set]) w();
  }

  /** Expires what is due; returns how many. */
  async expireDue(): Promise<number> {
    const expired = await this.opts.store.expireDue(this.iso());
    for (const a of expired) {
      await this.record('approval.expired', a, '(timeout)');
      this.announce('approval.expired', a);
      this.wake(a.id);
    }
    return expired.length;
  }

  private async record(event: string, a: Approval, actor: string, note?: string): Promise<void> {
    const body = eventBody(event, {
      grant: a.grantLabel ?? null,
      actor,
      reason: note ?? `${a.id} ${a.status}`,
      server: a.server,
      tool: a.tool,
    });
    await this.opts.audit({
      time: this.iso(),
      kind: 'event',
      requestKey: `${a.id}:${event}`,
      body: { ...body, approval: a.id, rule: a.rule },
    });
  }

  private announce(event: ApprovalNotice['event'], a: Approval): void {
    const hooks = this.opts.webhooks ?? [];
    if (hooks.length === 0) return;
    const base = this.dashboardUrl();
    const notice: ApprovalNotice = {
      event,
      id: a.id,
      server: a.server,
      tool: a.tool,
      // Never raw values: secrets masked as for the dashboard (#17.14); hidden characters flagged (#17.16).
      arguments: argumentsForApprover(a.arguments),
      hiddenCharacters: hiddenCharacters(a.arguments),
      rule: a.rule,
      reason: a.reason,
      risk: a.risk,
      grant: a.grantLabel,
      session: a.session,
      createdAt: a.createdAt,
      expiresAt: a.expiresAt,
      decidedBy: a.decidedBy,
      note: a.note,
      dashboardUrl: base === undefined ? undefined : `${base}/#/approvals/${a.id}`,
    };
    for (const hook of hooks) {
      if (hook.servers !== undefined && !hook.servers.includes(a.server)) continue;
      const delivery = sendWebhook(hook, notice, { log: this.opts.log });
      this.deliveries.add(delivery);
      void delivery.finally(() => this.deliveries.delete(delivery));
    }
  }

  /** Waits for webhook deliveries under way (a CLI decision must not exit before its notice is out). */
  async deliveriesDone(): Promise<void> {
    await Promise.all([...this.deliveries]);
  }

  /** Stops the sweeper; calls still waiting are cancelled (their agents are told the gateway stopped). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    for (const id of [...this.waiters.keys()]) this.wake(id);
  }
}
