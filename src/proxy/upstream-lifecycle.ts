// The life of one upstream link: its state, the calls waiting for it to be ready, the restart with backoff after its
// transport closed, and one new session for every caller after an HTTP upstream forgot ours.
import type { Logger } from 'pino';
import { WardenError } from '../errors.js';

export type LinkState = 'new' | 'starting' | 'ready' | 'down' | 'closed';

const MAX_BACKOFF_MS = 30_000;
const FIRST_BACKOFF_MS = 200;
/** A link whose start the person can fix (retryable) is started again on use at most this often. */
const RETRY_EVERY_MS = 2000;

/** What the lifecycle reads of its link: its id, why its last start failed, whether it ever initialized. */
export interface LinkFacts {
  readonly id: string;
  readonly lastError: WardenError | undefined;
  readonly initResult: unknown;
}

export class LinkLifecycle {
  private current: LinkState = 'new';
  private waiters: Array<() => void> = [];
  private backoffMs = FIRST_BACKOFF_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private readyAt = 0;
  private recovering: Promise<void> | undefined;
  private retrying: Promise<unknown> | undefined;
  private retriedAt = Number.NEGATIVE_INFINITY;

  /** `connect` connects and initializes the upstream (again). */
  constructor(
    private readonly link: LinkFacts,
    private readonly log: () => Logger,
    private readonly connect: () => Promise<unknown>,
  ) {}

  get state(): LinkState {
    return this.current;
  }

  starting(): void {
    this.current = 'starting';
  }

  ready(): void {
    // close() may have run while the start awaited: a closed link stays closed.
    if (this.current === 'closed') return;
    this.current = 'ready';
    this.readyAt = Date.now();
  }

  /** A start failed. */
  failed(): void {
    // close() may have run while the start awaited: a closed link stays closed.
    if (this.current !== 'closed') this.current = 'down';
  }

  /** Lets the calls waiting for a start (whenReady) go on, whichever way it ended. */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  close(): void {
    this.current = 'closed';
    if (this.restartTimer) clearTimeout(this.restartTimer);
  }

  /** The transport closed under a link that is not closed. */
  wentDown(): void {
    const wasReady = this.current === 'ready';
    this.current = 'down';
    // Only a server that worked is restarted; one that never initialized is reported, not hammered.
    if (wasReady && this.link.initResult !== undefined) this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.restartTimer || this.current === 'closed') return;
    // A server that stayed up for a while earns a fresh backoff.
    if (this.readyAt !== 0 && Date.now() - this.readyAt > MAX_BACKOFF_MS) this.backoffMs = FIRST_BACKOFF_MS;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    this.log().info({ delayMs: delay }, 'restarting upstream');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.current === 'closed') return;
      this.connect().catch((err: Error) => {
        this.log().warn({ err: err.message }, 'upstream restart failed');
        if (this.current !== 'closed') this.scheduleRestart();
      });
    }, delay);
    this.restartTimer.unref();
  }

  /**
   * Whether a start that never succeeded failed for a reason the person can fix from outside warden (they had not
   * authorized warden at the upstream yet: AuthorizationRequired): such a link is started again on its next use.
   */
  get retryable(): boolean {
    return (
      this.current === 'down' &&
      this.link.initResult === undefined &&
      (this.link.lastError as { retryOnUse?: unknown } | undefined)?.retryOnUse === true
    );
  }

  /**
   * Starts a retryable link again (one start for every caller meanwhile, at most one every 2 s): whether it is ready
   * now. A failure leaves the new reason (a fresh start link) in lastError.
   */
  async retry(): Promise<boolean> {
    if (this.retrying === undefined) {
      if (!this.retryable || Date.now() - this.retriedAt < RETRY_EVERY_MS) return this.current === 'ready';
      this.retriedAt = Date.now();
      this.retrying = this.connect().finally(() => {
        this.retrying = undefined;
      });
    }
    try {
      await this.retrying;
      return true;
    } catch {
      return false;
    }
  }

  /** Waits until the upstream is ready again (after a restart), or fails with why it is not. */
  async whenReady(timeoutMs: number): Promise<void> {
    const upstream = this.link.id;
    if (this.current === 'ready') return;
    if (this.current === 'closed') throw new WardenError('UPSTREAM_CLOSED', `upstream ${upstream} is closed`);
    // Never ready and not restarting: fail at once with the start error.
    if (this.current === 'down' && !this.restartTimer && this.link.initResult === undefined) {
      if (this.retryable && (await this.retry())) return;
      throw this.link.lastError ?? new WardenError('UPSTREAM_CLOSED', `upstream ${upstream} is not running`);
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(
          new WardenError(
            'UPSTREAM_TIMEOUT',
            `upstream ${upstream} did not come back within ${timeoutMs} ms`,
            {
              cause: this.link.lastError,
            },
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
    });
  }

  /**
   * Starts `renew` (a new upstream session in place of one the upstream forgot) once for every caller that noticed
   * while it runs.
   */
  recover(renew: () => Promise<void>): Promise<void> {
    if (!this.recovering) {
      this.log().info('upstream session expired; initializing a new one');
      this.current = 'starting';
      this.recovering = renew().finally(() => {
        this.recovering = undefined;
      });
    }
    return this.recovering;
  }
}
