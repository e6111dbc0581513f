// #19: label resolution (config globs, risk signals, exclusions, spellings) and flow rule matching.
import { describe, expect, it } from 'vitest';
import { withFlow } from '../../src/flows/explain.js';
import { derivedLabels, LabelResolver } from '../../src/flows/labels.js';
import { compileRules, decideFlow } from '../../src/flows/rules.js';
import { createLogger } from '../../src/log.js';
import { createContext } from '../../src/pipeline/context.js';
import { conversationOf, flowStep } from '../../src/pipeline/flow.js';
import type { Classification } from '../../src/risk/types.js';
import { MemoryConversationStore } from '../../src/state/conversations.js';

const cls = (category: Classification['category'], ...kinds: string[]): Classification =>
  ({
    category,
    risk: 'medium',
    signals: kinds.map((kind) => ({ kind, evidence: 'test' })),
    confidence: 1,
    rationale: 'test',
  }) as Classification;

describe('#19.8 labels', () => {
  const r = new LabelResolver({
    labels: { Private: ['fs/read_*', 'github/get_file_contents'], external: ['mail/send_*', '*/fetch'] },
    exclude: { private: ['crm/read_public_*'] },
    derive: true,
  });

  it('#19.8a config globs by <server>/<tool glob>, labels in lower case', () => {
    expect(r.resolve('fs', 'read_text_file')).toEqual([
      { label: 'private', source: 'config', why: 'fs/read_*' },
    ]);
    expect(r.resolve('web', 'fetch').map((l) => l.label)).toEqual(['external']);
    expect(r.resolve('fs', 'write_file')).toEqual([]);
    expect(r.resolve('fsx', 'read_text_file')).toEqual([]);
  });

  it('#19.8b tool names are case-sensitive like the policy engine, and NFKC: a fullwidth spelling is the same name', () => {
    expect(r.resolve('fs', 'READ_text_file')).toEqual([]);
    expect(r.resolve('fs', 'ｒｅａｄ_text_file').map((l) => l.label)).toEqual(['private']);
    expect(r.resolve('mail', 'send_ｅmail').map((l) => l.label)).toEqual(['external']);
  });

  it('#19.8c risk signals: a read of personal data is private, an open-world sender is external', () => {
    expect(derivedLabels(cls('read', 'pii')).map((l) => l.label)).toEqual(['private']);
    expect(derivedLabels(cls('read', 'handles_credentials')).map((l) => l.label)).toEqual(['private']);
    expect(derivedLabels(cls('communication', 'open_world')).map((l) => l.label)).toEqual(['external']);
    expect(derivedLabels(cls('write', 'open_world')).map((l) => l.label)).toEqual(['external']);
    expect(derivedLabels(cls('read', 'file_system'))).toEqual([]);
    const got = r.resolve('crm', 'get_customer', cls('read', 'pii'));
    expect(got).toEqual([{ label: 'private', source: 'signal', why: 'read tool with pii signal' }]);
  });

  it('#19.8d the config can say otherwise: exclude, or derive: false', () => {
    expect(r.resolve('crm', 'read_public_profile', cls('read', 'pii'))).toEqual([]);
    const off = new LabelResolver({ labels: {}, exclude: {}, derive: false });
    expect(off.resolve('crm', 'get_customer', cls('read', 'pii'))).toEqual([]);
    expect(off.empty).toBe(true);
  });

  it('#19.8e a config label wins over the same derived label (source config)', () => {
    expect(r.resolve('fs', 'read_file', cls('read', 'pii'))).toEqual([
      { label: 'private', source: 'config', why: 'fs/read_*' },
    ]);
  });
});

describe('#19.9 flow rules', () => {
  const rules = compileRules([
    { after: 'private', hold: 'external', reason: 'ask first' },
    { after: 'Secret', deny: 'EXTERNAL' },
    { after: 'private', deny: 'public_write', reason: 'no' },
  ]);

  it('#19.9a nothing seen, nothing applies; a tool without the target label is not touched', () => {
    expect(decideFlow(rules, new Set(), ['external'])).toBeUndefined();
    expect(decideFlow(rules, new Set(['private']), ['private'])).toBeUndefined();
  });

  it('#19.9b hold applies; deny beats hold whatever the order; labels compare case-insensitively', () => {
    expect(decideFlow(rules, new Set(['private']), ['external'])?.rule.pointer).toBe('/flows/rules/0');
    const v = decideFlow(rules, new Set(['private', 'secret']), ['external']);
    expect(v?.rule.pointer).toBe('/flows/rules/1');
    expect(v?.rule.action).toBe('deny');
    expect(v?.reason).toContain('secret');
  });
});

describe('#19.10 conversations', () => {
  const base = { era: '2025-11-25' as const };
  const anon = { grant: undefined, oauth: undefined };

  it('#19.10a identity scope: subject, else grant, else one anonymous conversation; new sessions share it', () => {
    expect(conversationOf({ ...base, session: { id: 's1', identity: anon } })).toBe('anonymous');
    expect(conversationOf({ ...base, session: { id: 's2', identity: anon } })).toBe('anonymous');
    const grant = { id: 'g1' } as never;
    expect(conversationOf({ ...base, session: { id: 's1', identity: { grant, oauth: undefined } } })).toBe(
      'grant:g1',
    );
    const oauth = { issuer: 'https://idp', subject: 'alice' } as never;
    expect(conversationOf({ ...base, session: { id: 's1', identity: { grant, oauth } } })).toBe(
      'sub:https://idp alice',
    );
  });

  it('#19.10b session scope narrows 2025 sessions; 2026 traffic stays with its identity', () => {
    expect(conversationOf({ ...base, session: { id: 's1', identity: anon } }, 'session')).toBe('session:s1');
    expect(conversationOf({ era: '2026-07-28', session: { id: 's1', identity: anon } }, 'session')).toBe(
      'anonymous',
    );
  });

  it('#19.10c the memory store keeps the first sighting of each label', async () => {
    const s = new MemoryConversationStore();
    await s.record('c', [{ label: 'private', at: 't1', server: 'fs', tool: 'read' }]);
    await s.record('c', [{ label: 'private', at: 't2', server: 'fs', tool: 'read2' }]);
    expect(await s.seen('c')).toEqual([{ label: 'private', at: 't1', server: 'fs', tool: 'read' }]);
    expect(await s.seen('other')).toEqual([]);
  });
});

describe('#19.15 precedence after the policy (withFlow)', () => {
  const base = {
    rule: '/tools/x',
    policy: 'p.yaml',
    reason: undefined,
    limits: [],
    approval: undefined,
    shadow: false,
  };
  const flow = (action: 'deny' | 'hold' | null, shadow = false) => ({
    labels: [],
    seen: ['private'],
    rule: action === null ? null : '/flows/rules/0',
    action,
    reason: action === null ? null : 'no',
    shadow,
  });

  it('#19.15a a policy deny or hide stands; a flow deny replaces allow and approval; a hold makes allow an approval', () => {
    expect(withFlow({ ...base, outcome: 'deny' }, flow('deny'), 1000).rule).toBe('/tools/x');
    expect(withFlow({ ...base, outcome: 'hidden' }, flow('deny'), 1000).outcome).toBe('hidden');
    expect(withFlow({ ...base, outcome: 'allow' }, flow('deny'), 1000)).toMatchObject({
      outcome: 'deny',
      rule: '/flows/rules/0',
      policy: '(flows)',
      reason: 'no',
    });
    expect(withFlow({ ...base, outcome: 'require_approval' }, flow('deny'), 1000).outcome).toBe('deny');
    expect(withFlow({ ...base, outcome: 'allow' }, flow('hold'), 1000)).toMatchObject({
      outcome: 'require_approval',
      approval: { rule: '/flows/rules/0', timeoutMs: 1000, mode: 'hold' },
    });
    const approval = { ...base, outcome: 'require_approval' as const };
    expect(withFlow(approval, flow('hold'), 1000)).toBe(approval);
  });

  it('#19.15b shadow flow rules and no rule change nothing', () => {
    const allow = { ...base, outcome: 'allow' as const };
    expect(withFlow(allow, flow('deny', true), 1000)).toBe(allow);
    expect(withFlow(allow, flow(null), 1000)).toBe(allow);
  });
});

describe('#19.16 flow step when the conversation state cannot be read', () => {
  const failing = {
    seen: () => Promise.reject(new Error('down')),
    record: () => Promise.reject(new Error('down')),
    list: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  };
  const resolver = new LabelResolver({ labels: { external: ['mail/send_*'] }, exclude: {}, derive: false });
  const rules = compileRules([{ after: 'private', deny: 'external' }]);
  function ctxFor() {
    const session = { id: 's', identity: { grant: undefined }, server: undefined } as never;
    const ctx = createContext(session, {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'send_email' },
    });
    ctx.targets.push({ server: 'mail', link: undefined as never, params: { name: 'send_email' } });
    return ctx;
  }

  it('#19.16a closed (default): a labelled call a rule could apply to is refused, and never forwarded', async () => {
    const ctx = ctxFor();
    let forwarded = false;
    await flowStep({ labels: resolver, rules, store: failing, log: createLogger('silent') })(
      ctx,
      async () => {
        forwarded = true;
      },
    );
    expect(forwarded).toBe(false);
    expect(ctx.decision).toMatchObject({ outcome: 'deny', rule: '(flow state)' });
    expect(ctx.flow?.stateError).toBe(true);
  });

  it('#19.16b open: the call goes on', async () => {
    const ctx = ctxFor();
    let forwarded = false;
    await flowStep({
      labels: resolver,
      rules,
      store: failing,
      log: createLogger('silent'),
      failMode: 'open',
    })(ctx, async () => {
      forwarded = true;
    });
    expect(forwarded).toBe(true);
    expect(ctx.reply).toBeUndefined();
  });
});

describe('#19.17 what is recorded before the agent has the result', () => {
  it('#19.17 a label a rule reads is recorded before the step returns; one no rule reads does not hold the answer', async () => {
    const resolver = new LabelResolver({
      labels: { private: ['fs/read_*'], external: ['mail/send_*'] },
      exclude: {},
      derive: false,
    });
    const rules = compileRules([{ after: 'private', deny: 'external' }]);
    const recorded: string[][] = [];
    let release: (() => void) | undefined;
    // A store whose writes of labels no rule reads never finish until released.
    const store = {
      seen: () => Promise.resolve([]),
      record: (_c: string, events: ReadonlyArray<{ label: string }>) => {
        recorded.push(events.map((e) => e.label));
        if (events.some((e) => e.label === 'private')) return Promise.resolve();
        return new Promise<void>((r) => {
          release = r;
        });
      },
      list: () => Promise.resolve([]),
      close: () => Promise.resolve(),
    };
    const run = async (server: string, tool: string) => {
      const session = { id: 's', identity: { grant: undefined }, server: undefined } as never;
      const ctx = createContext(session, {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: tool },
      });
      ctx.targets.push({ server, link: undefined as never, params: { name: tool } });
      await flowStep({ labels: resolver, rules, store, log: createLogger('silent') })(ctx, async () => {
        ctx.results.push({ server, response: { jsonrpc: '2.0', id: 1, result: { content: [] } } });
        ctx.reply = { result: { content: [] } };
      });
      return ctx;
    };
    // The send's `external` is read by no rule: the step returns although its write has not finished.
    const sent = await run('mail', 'send_email');
    expect(sent.flow?.added).toEqual(['external']);
    expect(recorded).toEqual([['external']]);
    expect(release).toBeDefined();
    // The read's `private` is read by the rule: written (and awaited) before the step returns.
    await run('fs', 'read_file');
    expect(recorded).toEqual([['external'], ['private']]);
    release?.();
  });
});
