// The outgoing approval webhook: a signed POST to a person's endpoint (JSON, or a Slack incoming webhook) whenever
// an approval is requested or settled, retried with backoff while the receiver is down or overloaded.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.js';
import { escapeHidden, escapeHiddenJson, type HiddenCharacters } from './display.js';

export interface WebhookConfig {
  /** http(s) URL the notices are POSTed to. */
  url: string;
  /** HMAC key the receiver checks `x-warden-signature` with. */
  secret: string;
  format: 'json' | 'slack';
  /** Only approvals of these servers; undefined = all. */
  servers?: string[];
}

export interface ApprovalNotice {
  event:
    | 'approval.requested'
    | 'approval.approved'
    | 'approval.rejected'
    | 'approval.expired'
    | 'approval.cancelled';
  id: string;
  server: string;
  tool: string;
  /** With secrets masked (src/approvals/display.ts). */
  arguments: Record<string, unknown>;
  /** Where the arguments hold characters a person cannot see; empty when none. */
  hiddenCharacters?: HiddenCharacters[];
  rule: string;
  reason: string | undefined;
  risk: string | undefined;
  /** The grant's label. */
  grant: string | undefined;
  session: string;
  createdAt: string;
  expiresAt: string;
  decidedBy?: string | undefined;
  note?: string | undefined;
  /** Where a person can decide, e.g. http://127.0.0.1:7421/#/approvals/<id> (may be undefined). */
  dashboardUrl?: string | undefined;
}

export interface WebhookOptions {
  /** Never given the secret, the URL's path or the arguments. */
  log: Logger;
  /** Deliveries tried at most (default 4). */
  attempts?: number;
  /** Waits before the 2nd, 3rd, ... attempt; the last one repeats when there are more attempts (default 0.5, 2, 8 s). */
  backoffMs?: number[];
  /** Per attempt (default 5 s). */
  timeoutMs?: number;
  /** ms since the epoch, for `x-warden-timestamp`. */
  now?: () => number;
}

/** Characters of the arguments' JSON a Slack message shows at most. */
const SLACK_ARGUMENTS_MAX = 2_500;

const TITLES: Record<ApprovalNotice['event'], string> = {
  'approval.requested': 'Approval requested',
  'approval.approved': 'Approved',
  'approval.rejected': 'Rejected',
  'approval.expired': 'Approval expired',
  'approval.cancelled': 'Approval cancelled',
};

/** Slack mrkdwn treats `&`, `<` and `>` as control characters. */
function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Inline code; a backtick would end it early. */
function code(text: string): string {
  return `\`${esc(clip(escapeHidden(text), 500).replace(/`/g, "'"))}\``;
}

function orNone(text: string | undefined): string {
  return text === undefined || text === '' ? '_none_' : code(text);
}

/**
 * The arguments as pretty JSON, escaped for mrkdwn and cut to SLACK_ARGUMENTS_MAX characters. Backticks become
 * `\u0060` (the same JSON) so the code block cannot be closed from inside.
 */
function slackArguments(args: Record<string, unknown>): string {
  // Hidden characters (bidi controls, zero-width, tags) are shown as `\u{202E}`, never rendered.
  const json = escapeHidden(JSON.stringify(args ?? {}, null, 2) ?? 'null').replace(/`/g, '\\u0060');
  const full = esc(json);
  if (full.length <= SLACK_ARGUMENTS_MAX) return full;
  const more = `\n… (${json.length} characters, truncated)`;
  let out = '';
  for (const ch of json) {
    const e = esc(ch);
    if (out.length + e.length > SLACK_ARGUMENTS_MAX - more.length) break;
    out += e;
  }
  return out + more;
}

/** A Slack link; `|` and `>` would end it early. */
function slackLink(url: string, label: string): string {
  return `<${url.replace(/&/g, '&amp;').replace(/</g, '%3C').replace(/>/g, '%3E').replace(/\|/g, '%7C')}|${label}>`;
}

function slackBody(n: ApprovalNotice): Record<string, unknown> {
  const title = TITLES[n.event];
  const blocks: Record<string, unknown>[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: clip(escapeHidden(`${title}: ${n.tool} on ${n.server}`), 150) },
    },
    {
      type: 'section',
      fields: [
        `*Tool*\n${code(n.tool)}`,
        `*Server*\n${code(n.server)}`,
        `*Grant*\n${orNone(n.grant)}`,
        `*Risk*\n${orNone(n.risk)}`,
        `*Rule*\n${code(n.rule)}`,
        `*Expires*\n${code(n.expiresAt)}`,
      ].map((text) => ({ type: 'mrkdwn', text })),
    },
  ];
  if (n.reason !== undefined && n.reason !== '') {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `*Reason*\n${esc(clip(n.reason, 2_000))}` },
    });
  }
  const hidden = n.hiddenCharacters ?? [];
  if (hidden.length > 0) {
    const where = hidden
      .slice(0, 10)
      .map((h) => `${h.path === '' ? '(arguments)' : h.path}: ${h.characters.join(' ')}`)
      .join('; ');
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `:warning: *The arguments hold invisible or bidi characters* (shown escaped): ${code(where)}`,
      },
    });
  }
  blocks.push({
    type: 'section',
    text: { type: 'mrkdwn', text: `*Arguments*\n\`\`\`\n${slackArguments(n.arguments)}\n\`\`\`` },
  });
  if (n.event !== 'approval.requested') {
    const by = n.decidedBy === undefined ? '' : `*By* ${code(n.decidedBy)}`;
    const note = n.note === undefined || n.note === '' ? '' : `\n*Note* ${esc(clip(n.note, 1_000))}`;
    const text = `${by}${note}`.trim();
    if (text !== '') blocks.push({ type: 'section', text: { type: 'mrkdwn', text } });
  }
  const lines = [`*Id* ${code(n.id)}`];
  if (n.event === 'approval.requested') {
    // The commands only mean something while the approval is pending.
    lines.push(
      `Approve: ${code(`warden approvals approve ${n.id}`)}`,
      `Deny: ${code(`warden approvals deny ${n.id} --note "<why>"`)}`,
    );
  }
  if (n.dashboardUrl !== undefined) lines.push(slackLink(n.dashboardUrl, 'Open in the dashboard'));
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } });

  const details = [n.grant && `grant ${n.grant}`, n.risk && `risk ${n.risk}`].filter(Boolean).join(', ');
  const text = esc(`${title}: ${n.tool} on ${n.server}${details === '' ? '' : ` (${details})`} ${n.id}`);
  return { text, blocks };
}

/**
 * The request body for a format. json: the notice with `"version": 1` (absent fields are null). slack: an
 * incoming-webhook payload, `text` for notifications and `blocks` with the call, its arguments (cut to 2,500
 * characters) and, while it is pending, the CLI commands that decide it.
 */
export function webhookBody(format: WebhookConfig['format'], notice: ApprovalNotice): string {
  if (format === 'slack') return escapeHiddenJson(JSON.stringify(slackBody(notice)));
  // Hidden characters travel as \u escapes (the same JSON value), and `hiddenCharacters` says where they are.
  return escapeHiddenJson(
    JSON.stringify({
      version: 1,
      event: notice.event,
      id: notice.id,
      server: notice.server,
      tool: notice.tool,
      arguments: notice.arguments,
      hiddenCharacters: notice.hiddenCharacters ?? [],
      rule: notice.rule,
      reason: notice.reason ?? null,
      risk: notice.risk ?? null,
      grant: notice.grant ?? null,
      session: notice.session,
      createdAt: notice.createdAt,
      expiresAt: notice.expiresAt,
      decidedBy: notice.decidedBy ?? null,
      note: notice.note ?? null,
      dashboardUrl: notice.dashboardUrl ?? null,
    }),
  );
}

/** Header value: `sha256=` + hex HMAC-SHA256(secret, `${timestamp}.${body}`). */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What went wrong with a fetch, without the URL. */
function failure(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

/**
 * POSTs the notice, signed: `x-warden-event`, `x-warden-delivery` (a UUID, the same on every retry),
 * `x-warden-timestamp` (unix seconds, taken at each attempt) and `x-warden-signature`. Retries on network errors,
 * timeouts, 429 and 5xx; any other status (redirects included, which are not followed) is final. Resolves true once
 * a 2xx arrives (or when the hook does not take this server's approvals), false when it gives up. Never throws.
 */
export async function sendWebhook(
  hook: WebhookConfig,
  notice: ApprovalNotice,
  opts: WebhookOptions,
): Promise<boolean> {
  const { log } = opts;
  const ctx = { event: notice.event, approval: notice.id };
  try {
    if (hook.servers !== undefined && !hook.servers.includes(notice.server)) return true;
    let host: string;
    try {
      const url = new URL(hook.url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new Error(`${url.protocol} is not http(s)`);
      host = url.host;
    } catch (err) {
      log.warn({ ...ctx, err: (err as Error).message }, 'approval webhook has an invalid url; not sent');
      return false;
    }
    const body = webhookBody(hook.format, notice);
    const attempts = Math.max(1, opts.attempts ?? 4);
    const backoff = opts.backoffMs ?? [500, 2_000, 8_000];
    const timeoutMs = opts.timeoutMs ?? 5_000;
    const now = opts.now ?? Date.now;
    const delivery = randomUUID();
    let status: number | undefined;
    let error: string | undefined;
    let attempt = 0;
    while (attempt < attempts) {
      if (attempt > 0) await sleep(backoff[Math.min(attempt - 1, backoff.length - 1)] ?? 0);
      attempt++;
      const timestamp = String(Math.floor(now() / 1000));
      try {
        const res = await fetch(hook.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-warden-event': notice.event,
            'x-warden-delivery': delivery,
            'x-warden-timestamp': timestamp,
            'x-warden-signature': signature(hook.secret, timestamp, body),
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = res.status;
        error = undefined;
        await res.body?.cancel().catch(() => {});
        if (res.ok) {
          log.debug({ ...ctx, host, status, attempts: attempt, delivery }, 'approval webhook delivered');
          return true;
        }
        if (status !== 429 && status < 500) break;
      } catch (err) {
        status = undefined;
        error = failure(err, timeoutMs);
      }
      log.debug({ ...ctx, host, status, err: error, attempt, delivery }, 'approval webhook attempt failed');
    }
    log.warn({ ...ctx, host, status, err: error, attempts: attempt, delivery }, 'approval webhook gave up');
    return false;
  } catch (err) {
    try {
      log.warn({ ...ctx, err: (err as Error)?.message ?? String(err) }, 'approval webhook failed');
    } catch {
      // a broken logger must not make this throw either
    }
    return false;
  }
}

/**
 * For receivers: true when `header` is the signature of `timestamp` and `body` under `secret` (compared in constant
 * time) and the timestamp is within `toleranceSec` of now, which stops a captured delivery being replayed later.
 */
export function verifySignature(
  secret: string,
  timestamp: string,
  body: string,
  header: string,
  nowMs: number = Date.now(),
  toleranceSec = 300,
): boolean {
  if (!/^\d{1,15}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSec) return false;
  const expected = Buffer.from(signature(secret, timestamp, body));
  const presented = Buffer.from(header);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}
