// The approval webhook against a real HTTP receiver on 127.0.0.1 that checks signatures as a user's endpoint would:
// signed JSON and Slack bodies, retries with one delivery id, no retry on a 4xx, replays and forgeries refused.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ApprovalNotice,
  sendWebhook,
  signature,
  verifySignature,
  type WebhookOptions,
  webhookBody,
} from '../../src/approvals/webhook.js';

const SECRET = 'whsec-test-7f3a9c';
const BACKOFF = [10, 20, 40];
const servers: Server[] = [];

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  /** What the receiver made of the signature. */
  valid: boolean;
}

/**
 * A receiver that records every request and answers 401 to a bad signature, otherwise the next of `statuses`
 * (200 once they run out); `hang` never answers at all.
 */
async function receiver(statuses: number[] = [], hang = false): Promise<{ url: string; got: Delivery[] }> {
  const got: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const valid = verifySignature(
        SECRET,
        String(req.headers['x-warden-timestamp']),
        body,
        String(req.headers['x-warden-signature']),
      );
      got.push({ headers: req.headers, body, valid });
      if (hang) return;
      const status = valid ? (statuses.shift() ?? 200) : 401;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/warden`, got };
}

/** A logger whose lines the test can read. */
function capture(): { log: WebhookOptions['log']; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

function notice(over: Partial<ApprovalNotice> = {}): ApprovalNotice {
  return {
    event: 'approval.requested',
    id: 'apr_abcdefghij2345672345',
    server: 'fs',
    tool: 'write_file',
    arguments: { path: '/etc/hosts', content: 'private-argument-value' },
    rule: '/rules/2',
    reason: 'writes outside the workspace need a person',
    risk: 'high',
    grant: 'ci-bot',
    session: 'sess-1',
    createdAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2026-01-01T00:15:00.000Z',
    dashboardUrl: 'http://127.0.0.1:7421/#/approvals/apr_abcdefghij2345672345',
    ...over,
  };
}

/** Every mrkdwn and plain text of a Slack payload, joined. */
function slackText(payload: { text: string; blocks: Array<Record<string, any>> }): string {
  const parts = [payload.text];
  for (const b of payload.blocks) {
    if (b.text?.text !== undefined) parts.push(b.text.text);
    for (const f of b.fields ?? []) parts.push(f.text);
  }
  return parts.join('\n');
}

describe('approval webhook', () => {
  it('delivers the JSON notice with a valid signature and the warden headers', async () => {
    const r = await receiver();
    const { log } = capture();
    const ok = await sendWebhook({ url: r.url, secret: SECRET, format: 'json' }, notice(), {
      log,
      backoffMs: BACKOFF,
    });
    expect(ok).toBe(true);
    expect(r.got).toHaveLength(1);
    const d = r.got[0]!;
    expect(d.valid).toBe(true);
    expect(d.headers['content-type']).toBe('application/json');
    expect(d.headers['x-warden-event']).toBe('approval.requested');
    expect(d.headers['x-warden-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    const ts = Number(d.headers['x-warden-timestamp']);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(5);
    const expected = createHmac('sha256', SECRET).update(`${ts}.${d.body}`).digest('hex');
    expect(d.headers['x-warden-signature']).toBe(`sha256=${expected}`);
    expect(signature(SECRET, String(ts), d.body)).toBe(`sha256=${expected}`);
    const body = JSON.parse(d.body);
    expect(body).toMatchObject({ version: 1, ...notice(), decidedBy: null, note: null });
  });

  it('sends a Slack payload with text, blocks and the CLI commands', async () => {
    const r = await receiver();
    const { log } = capture();
    const n = notice();
    expect(await sendWebhook({ url: r.url, secret: SECRET, format: 'slack' }, n, { log })).toBe(true);
    expect(r.got[0]!.valid).toBe(true);
    const payload = JSON.parse(r.got[0]!.body);
    expect(typeof payload.text).toBe('string');
    expect(payload.text).toContain('write_file');
    expect(Array.isArray(payload.blocks)).toBe(true);
    const all = slackText(payload);
    for (const s of ['fs', 'ci-bot', 'high', '/rules/2', 'writes outside the workspace', '/etc/hosts']) {
      expect(all).toContain(s);
    }
    expect(all).toContain(`warden approvals approve ${n.id}`);
    expect(all).toContain(`warden approvals deny ${n.id} --note`);
    expect(all).toContain('<http://127.0.0.1:7421/#/approvals/apr_abcdefghij2345672345|');

    const decided = slackText(
      JSON.parse(
        webhookBody('slack', notice({ event: 'approval.rejected', decidedBy: 'alice', note: 'not <today>' })),
      ),
    );
    expect(decided).toContain('Rejected');
    expect(decided).toContain('alice');
    expect(decided).toContain('not &lt;today&gt;');
    expect(decided).not.toContain('warden approvals approve');
  });

  it('cuts long arguments in Slack to 2,500 characters and keeps the code block closed', () => {
    const n = notice({ arguments: { content: `\`\`\`<&>${'x'.repeat(10_000)}` } });
    const payload = JSON.parse(webhookBody('slack', n));
    const args = payload.blocks
      .map((b: any) => b.text?.text ?? '')
      .find((t: string) => t.startsWith('*Arguments*'));
    const inner = args.slice('*Arguments*\n```\n'.length, -'\n```'.length);
    expect(inner.length).toBeLessThanOrEqual(2_500);
    expect(inner).toContain('truncated');
    expect(inner).not.toContain('```');
    expect(inner).toContain('&lt;&amp;&gt;');
    expect(args.length).toBeLessThan(3_000); // Slack's limit for a section's text
  });

  it('retries 500, 500, then 200 with the same delivery id and resolves true', async () => {
    const r = await receiver([500, 500]);
    const { log } = capture();
    const ok = await sendWebhook({ url: r.url, secret: SECRET, format: 'json' }, notice(), {
      log,
      backoffMs: BACKOFF,
    });
    expect(ok).toBe(true);
    expect(r.got).toHaveLength(3);
    expect(r.got.every((d) => d.valid)).toBe(true);
    expect(new Set(r.got.map((d) => d.headers['x-warden-delivery'])).size).toBe(1);
  });

  it('does not retry a 400, resolves false and logs the host, status and attempts without secrets', async () => {
    const r = await receiver([400]);
    const { log, lines } = capture();
    const ok = await sendWebhook({ url: r.url, secret: SECRET, format: 'json' }, notice(), {
      log,
      backoffMs: BACKOFF,
    });
    expect(ok).toBe(false);
    expect(r.got).toHaveLength(1);
    const warn = lines.find((l) => l.level === 40);
    expect(warn).toMatchObject({ host: new URL(r.url).host, status: 400, attempts: 1 });
    const text = JSON.stringify(lines);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('private-argument-value');
    expect(text).not.toContain('/hooks/warden');
  });

  it('gives up after the attempts when the receiver keeps failing', async () => {
    const r = await receiver([503, 429, 502, 500, 200]);
    const { log } = capture();
    const ok = await sendWebhook({ url: r.url, secret: SECRET, format: 'json' }, notice(), {
      log,
      backoffMs: BACKOFF,
    });
    expect(ok).toBe(false);
    expect(r.got).toHaveLength(4);
  });

  it('fails verification with a wrong secret', async () => {
    const r = await receiver();
    const { log } = capture();
    const ok = await sendWebhook({ url: r.url, secret: 'not-the-secret', format: 'json' }, notice(), {
      log,
      backoffMs: BACKOFF,
    });
    expect(r.got).toHaveLength(1);
    expect(r.got[0]!.valid).toBe(false);
    expect(ok).toBe(false); // the receiver's 401 is final
    const d = r.got[0]!;
    const ts = String(d.headers['x-warden-timestamp']);
    expect(verifySignature(SECRET, ts, d.body, String(d.headers['x-warden-signature']))).toBe(false);
    expect(verifySignature('not-the-secret', ts, d.body, String(d.headers['x-warden-signature']))).toBe(true);
    expect(verifySignature('not-the-secret', ts, `${d.body} `, String(d.headers['x-warden-signature']))).toBe(
      false,
    );
  });

  it('fails verification of an old timestamp', async () => {
    const r = await receiver();
    const { log } = capture();
    const tenMinutesAgo = Date.now() - 600_000;
    const ok = await sendWebhook({ url: r.url, secret: SECRET, format: 'json' }, notice(), {
      log,
      backoffMs: BACKOFF,
      now: () => tenMinutesAgo,
    });
    expect(ok).toBe(false);
    expect(r.got).toHaveLength(1);
    expect(r.got[0]!.valid).toBe(false);
    const d = r.got[0]!;
    const ts = String(d.headers['x-warden-timestamp']);
    const header = String(d.headers['x-warden-signature']);
    // The signature itself is right: only its age is refused.
    expect(verifySignature(SECRET, ts, d.body, header, tenMinutesAgo)).toBe(true);
    expect(verifySignature(SECRET, ts, d.body, header, Date.now(), 900)).toBe(true);
    expect(verifySignature(SECRET, 'abc', d.body, header)).toBe(false);
  });

  it('resolves false without throwing for an unreachable or invalid url', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as AddressInfo;
    await new Promise((r) => closed.close(r));
    const { log, lines } = capture();
    const hook = { url: `http://127.0.0.1:${port}/x`, secret: SECRET, format: 'json' as const };
    await expect(sendWebhook(hook, notice(), { log, backoffMs: BACKOFF })).resolves.toBe(false);
    expect(lines.find((l) => l.level === 40)).toMatchObject({ attempts: 4, err: 'ECONNREFUSED' });
    await expect(sendWebhook({ ...hook, url: 'not a url' }, notice(), { log })).resolves.toBe(false);
    await expect(sendWebhook({ ...hook, url: 'ftp://127.0.0.1/x' }, notice(), { log })).resolves.toBe(false);
  });

  it('gives up on a receiver that never answers after the per-attempt timeout', async () => {
    const r = await receiver([], true);
    const { log } = capture();
    const ok = await sendWebhook({ url: r.url, secret: SECRET, format: 'json' }, notice(), {
      log,
      attempts: 2,
      backoffMs: BACKOFF,
      timeoutMs: 200,
    });
    expect(ok).toBe(false);
    expect(r.got).toHaveLength(2);
  });

  it('sends only approvals of the listed servers', async () => {
    const r = await receiver();
    const { log } = capture();
    const hook = { url: r.url, secret: SECRET, format: 'json' as const, servers: ['github'] };
    expect(await sendWebhook(hook, notice(), { log })).toBe(true);
    expect(r.got).toHaveLength(0);
    expect(await sendWebhook(hook, notice({ server: 'github' }), { log })).toBe(true);
    expect(r.got).toHaveLength(1);
  });
});
