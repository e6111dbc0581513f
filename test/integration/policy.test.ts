// Policies enforced through the real SDK client: hidden tools, denials, globs, reload under an open session, shadow.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  EVERYTHING,
  PROBE,
  ROOT,
  type RunningGateway,
  startGateway,
  tempDir,
  textOf,
} from '../helpers/gateway.js';

const POLICY = {
  version: '1',
  default: 'allow',
  hide: ['crash', 'tool_0001'],
  tools: {
    echo: {
      deny_if: [
        {
          conditions: [{ path: 'args.text', op: 'eq', value: 'forbidden' }],
          on_deny: 'That word is not allowed.',
        },
      ],
    },
    slow: { action: 'deny', reason: 'Slow calls are switched off.' },
    'tool_*': { deny_if: [{ path: 'args.force', op: 'eq', value: true }] },
    tool_0002: { action: 'deny' },
  },
};

let gw: RunningGateway;
let dir: string;
let policyFile: string;

/** The probe (with 5 extra tools) under a policy file; `env` for the probe process. */
function config(policy: string, env: Record<string, string> = {}): string {
  return `
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}", "--tools", "5"]
    cwd: ${ROOT}
    env: ${JSON.stringify(env)}
    policy: ${policy}
`;
}

beforeAll(async () => {
  dir = tempDir('warden-policy-');
  policyFile = join(dir, 'probe-policy.json');
  writeFileSync(policyFile, JSON.stringify(POLICY));
  gw = await startGateway(config(policyFile));
});

afterAll(async () => {
  await gw?.close();
});

function decisionOf(result: unknown): { rule: string; reason: string } {
  return (result as { _meta: Record<string, { rule: string; reason: string }> })._meta[
    'mcp-warden/decision'
  ]!;
}

describe('hidden tools', () => {
  it('are absent from tools/list on the per-server and the aggregated endpoint', async () => {
    const one = await connect(`${gw.mcpUrl}/probe`);
    const names = (await one.listTools()).tools.map((t) => t.name);
    expect(names).toContain('echo');
    expect(names).not.toContain('crash');
    expect(names).not.toContain('tool_0001');
    await one.close();
    const all = await connect(gw.mcpUrl);
    const prefixed = (await all.listTools()).tools.map((t) => t.name);
    expect(prefixed).toContain('probe__echo');
    expect(prefixed).not.toContain('probe__crash');
    await all.close();
  });

  it('answer exactly like a tool that does not exist', async () => {
    const client = await connect(`${gw.mcpUrl}/probe`);
    const errorOf = async (name: string) => {
      try {
        await client.callTool({ name, arguments: {} });
      } catch (err) {
        return {
          code: (err as { code: number }).code,
          message: (err as Error).message.replace(name, '<name>'),
        };
      }
      throw new Error(`${name} did not fail`);
    };
    const hidden = await errorOf('crash');
    const missing = await errorOf('no_such_tool');
    expect(hidden).toEqual(missing);
    expect(hidden.code).toBe(-32602);
    expect(hidden.message).toContain('Unknown tool: <name>');
    const agg = await connect(gw.mcpUrl);
    await expect(agg.callTool({ name: 'probe__crash', arguments: {} })).rejects.toThrow(
      'Unknown tool: probe__crash',
    );
    await agg.close();
    await client.close();
  });
});

describe('denials', () => {
  it('return [POLICY DENIED] with the reason and the rule', async () => {
    const client = await connect(`${gw.mcpUrl}/probe`);
    const denied = await client.callTool({ name: 'echo', arguments: { text: 'forbidden' } });
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toBe('[POLICY DENIED] That word is not allowed.');
    expect(decisionOf(denied)).toEqual({
      rule: '/tools/echo/deny_if/0',
      reason: 'That word is not allowed.',
    });
    const allowed = await client.callTool({ name: 'echo', arguments: { text: 'fine' } });
    expect(textOf(allowed)).toBe('fine');
    const slow = await client.callTool({ name: 'slow', arguments: { ms: 1 } });
    expect(textOf(slow)).toBe('[POLICY DENIED] Slow calls are switched off.');
    await client.close();
  });

  it('apply glob entries, and an exact entry beats the glob', async () => {
    const client = await connect(`${gw.mcpUrl}/probe`);
    const forced = await client.callTool({ name: 'tool_0003', arguments: { force: true } });
    expect(decisionOf(forced).rule).toBe('/tools/tool_*/deny_if/0');
    expect(textOf(await client.callTool({ name: 'tool_0003', arguments: {} }))).toBe('tool_0003');
    const exact = await client.callTool({ name: 'tool_0002', arguments: {} });
    expect(decisionOf(exact).rule).toBe('/tools/tool_0002/action');
    await client.close();
  });
});

describe('reload', () => {
  it('applies a changed policy to an open session and announces tools/list_changed', async () => {
    const own = await startGatewayWithPolicy({ version: '1', default: 'allow' });
    const client = await connect(`${own.gw.mcpUrl}/probe`);
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      changed++;
    });
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'before' } }))).toBe('before');
    writeFileSync(own.file, JSON.stringify({ version: '1', default: 'allow', hide: ['echo'] }));
    await expect.poll(() => changed, { timeout: 5000 }).toBeGreaterThan(0);
    await expect(client.callTool({ name: 'echo', arguments: { text: 'after' } })).rejects.toThrow(
      'Unknown tool: echo',
    );
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('echo');
    // An invalid file keeps the policy in force.
    writeFileSync(own.file, '{ "version": "1", "default": "sometimes" }');
    await new Promise((r) => setTimeout(r, 400));
    await expect(client.callTool({ name: 'echo', arguments: { text: 'still hidden' } })).rejects.toThrow(
      'Unknown tool',
    );
    await client.close();
    await own.gw.close();
  });
});

describe('shadow mode', () => {
  it('lets denied calls through', async () => {
    const own = await startGatewayWithPolicy({ version: '1', default: 'deny', shadow: true, tools: {} });
    const client = await connect(`${own.gw.mcpUrl}/probe`);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'shadowed' } }))).toBe('shadowed');
    await client.close();
    await own.gw.close();
  });
});

describe('fail closed', () => {
  it('does not forward a call that needs approval before it is approved (async: answers with the approval id)', async () => {
    const own = await startGatewayWithPolicy({
      version: '1',
      default: 'allow',
      tools: { echo: { action: 'require_approval', approval: { mode: 'async' } } },
    });
    const client = await connect(`${own.gw.mcpUrl}/probe`);
    const result = await client.callTool({ name: 'echo', arguments: { text: 'x' } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^\[POLICY DENIED\] .*Approval apr_[a-z2-7]{20} is waiting for a person/);
    await client.close();
    await own.gw.close();
  });
});

async function startGatewayWithPolicy(
  policy: unknown,
  env: Record<string, string> = {},
): Promise<{ gw: RunningGateway; file: string }> {
  const file = join(tempDir('warden-policy-'), 'policy.json');
  writeFileSync(file, JSON.stringify(policy));
  return { gw: await startGateway(config(file, env)), file };
}

describe('prompts and resources named by a policy', () => {
  it('hides and denies them', async () => {
    const file = join(tempDir('warden-policy-'), 'everything.json');
    writeFileSync(
      file,
      JSON.stringify({
        version: '1',
        default: 'allow',
        prompts: {
          'simple-*': { action: 'hide' },
          'args-prompt': { action: 'deny', reason: 'No arguments today.' },
        },
        resources: { 'demo://resource/static/document/*': { action: 'hide' } },
      }),
    );
    const own = await startGateway(
      `mcpServers:\n  everything:\n    command: node\n    args: ["${EVERYTHING}", "stdio"]\n    policy: ${file}\n`,
    );
    const client = await connect(`${own.mcpUrl}/everything`);
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(prompts).not.toContain('simple-prompt');
    expect(prompts).toContain('args-prompt');
    await expect(client.getPrompt({ name: 'simple-prompt' })).rejects.toThrow(
      'Unknown prompt: simple-prompt',
    );
    await expect(client.getPrompt({ name: 'args-prompt', arguments: { city: 'Oslo' } })).rejects.toThrow(
      '[POLICY DENIED] No arguments today.',
    );
    const uris = (await client.listResources()).resources.map((r) => r.uri);
    expect(uris.some((u) => u.startsWith('demo://resource/static/document/'))).toBe(false);
    await expect(
      client.readResource({ uri: 'demo://resource/static/document/architecture.md' }),
    ).rejects.toThrow('Resource not found');
    await client.close();
    await own.close();
  });
});

describe('tool lists kept by the gateway', () => {
  /** A gateway in front of the probe (which can add tools at run time) under a policy file; `env` for the probe. */
  async function growingProbe(env: Record<string, string>, policy: Record<string, unknown>) {
    const { gw, file } = await startGatewayWithPolicy(policy, { PROBE_LIST_GROW: '1', ...env });
    return { gw, file, client: await connect(`${gw.mcpUrl}/probe`) };
  }
  const names = async (client: Client) => (await client.listTools()).tools.map((t) => t.name);
  const listings = async (client: Client) =>
    Number(textOf(await client.callTool({ name: 'listings', arguments: {} })));

  it('lets an agent call a tool it was just shown, when a server that never promised list_changed adds it silently', async () => {
    const { gw, client } = await growingProbe(
      { PROBE_LIST_CHANGED: '0' },
      { version: '1', default: 'allow', hide: ['crash'] },
    );
    // A call first, so the gateway holds the server's tool list from before the change.
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('hi');
    const added = textOf(await client.callTool({ name: 'grow', arguments: { silent: true } }));
    // Such a server is asked on every tools/list.
    const before = await listings(client);
    expect(await names(client)).toContain(added);
    expect(await listings(client)).toBe(before + 1);
    expect(textOf(await client.callTool({ name: added, arguments: {} }))).toBe(added);
    // Still an unknown tool for a name never listed.
    await expect(client.callTool({ name: 'never_listed', arguments: {} })).rejects.toThrow(
      'Unknown tool: never_listed',
    );
    await client.close();
    await gw.close();
  });

  it('answers tools/list from the kept list of a server that announces changes, until it announces one', async () => {
    const { gw, file, client } = await growingProbe({}, { version: '1', default: 'allow', hide: ['crash'] });
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      changed++;
    });
    const first = await names(client);
    expect(first).not.toContain('crash');
    const asked = await listings(client);
    for (let i = 0; i < 5; i++) expect(await names(client)).toEqual(first);
    expect(await listings(client)).toBe(asked);
    // The aggregated endpoint merges the kept lists the same way every time (its own session, its own upstream).
    const all = await connect(gw.mcpUrl);
    const merged = await names(all);
    expect(merged).toEqual(first.map((n) => `probe__${n}`));
    for (let i = 0; i < 3; i++) expect(await names(all)).toEqual(merged);
    // A silent change (a broken promise) is not seen, and the gateway agrees with what the agent was shown.
    const hidden = textOf(await client.callTool({ name: 'grow', arguments: { silent: true } }));
    expect(await names(client)).toEqual(first);
    await expect(client.callTool({ name: hidden, arguments: {} })).rejects.toThrow(`Unknown tool: ${hidden}`);
    // An announced change is: the next list is asked for and shows both tools.
    const announced = textOf(await client.callTool({ name: 'grow', arguments: {} }));
    await expect.poll(() => changed, { timeout: 5000 }).toBeGreaterThan(0);
    const now = await names(client);
    expect(now).toEqual(expect.arrayContaining([hidden, announced]));
    expect(await listings(client)).toBe(asked + 1);
    expect(textOf(await client.callTool({ name: announced, arguments: {} }))).toBe(announced);
    // The kept list is the server's, not the policy's view of it: a reload that stops hiding a tool shows it at once.
    writeFileSync(file, JSON.stringify({ version: '1', default: 'allow' }));
    await expect.poll(() => changed, { timeout: 5000 }).toBeGreaterThan(1);
    expect(await names(client)).toContain('crash');
    expect(await listings(client)).toBe(asked + 1);
    expect(await names(all)).toContain('probe__crash');
    await all.close();
    await client.close();
    await gw.close();
  });

  it('asks again after the server restarts', async () => {
    const { gw, client } = await growingProbe({}, { version: '1', default: 'allow' });
    await names(client);
    const asked = await listings(client);
    await names(client);
    expect(await listings(client)).toBe(asked);
    await client.callTool({ name: 'crash', arguments: {} }).catch(() => {});
    // The restarted process counts from zero. Its list is asked for once (the gateway needs it to check the call to
    // `listings`), and the agent's lists after that are answered from it.
    const again = () => listings(client).catch(() => -1);
    await expect.poll(again, { timeout: 10_000 }).toBe(1);
    await names(client);
    await names(client);
    expect(await listings(client)).toBe(1);
    await client.close();
    await gw.close();
  });
});
