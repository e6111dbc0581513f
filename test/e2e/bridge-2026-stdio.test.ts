// The bridge of a 2026 client in front of a 2025 upstream over `warden stdio` (#18 part 3b), spoken line by line as
// a client would: the id of a call the bridge answered early (its InputRequiredResult) is free to the agent again,
// and a retry on a grant revoked since the call began is refused before its answer reaches the upstream.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../helpers/cli.js';
import { CLI, ROOT } from '../helpers/gateway.js';

const CONFORMANCE = `${ROOT}/test/fixtures/conformance-server.ts`;
const ERA_2026 = '2026-07-28';
type Json = Record<string, any>;

const SERVERS = `
mcpServers:
  legacy:
    command: node
    args: ["--import", "tsx", "${CONFORMANCE}", "--stdio"]
    cwd: ${ROOT}
`;

const meta = {
  'io.modelcontextprotocol/protocolVersion': ERA_2026,
  'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
  'io.modelcontextprotocol/clientInfo': { name: 'stdio-bridge', version: '1.0.0' },
};

function call(id: number | string, extra: Json = {}): Json {
  return {
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'test_elicitation', arguments: { message: 'Who are you?' }, _meta: meta, ...extra },
  };
}

/** `warden stdio` over a pipe: send lines, wait for the message that matches. */
class Line {
  private readonly seen: Json[] = [];
  private buffer = '';
  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let nl = this.buffer.indexOf('\n'); nl !== -1; nl = this.buffer.indexOf('\n')) {
        this.seen.push(JSON.parse(this.buffer.slice(0, nl)) as Json);
        this.buffer = this.buffer.slice(nl + 1);
      }
    });
  }
  send(m: Json): void {
    this.child.stdin!.write(`${JSON.stringify(m)}\n`);
  }
  /** The next message (after those already taken) that `match` accepts. */
  async next(match: (m: Json) => boolean): Promise<Json> {
    for (let i = 0; i < 600; i++) {
      const at = this.seen.findIndex(match);
      if (at !== -1) return this.seen.splice(at, 1)[0]!;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('no such message from warden stdio');
  }
  /** Everything not taken yet. */
  get rest(): Json[] {
    return [...this.seen];
  }
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill();
});

function stdio(file: string, args: string[]): Line {
  const child = spawn(process.execPath, [CLI, 'stdio', '--config', file, '--server', 'legacy', ...args], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  children.push(child);
  return new Line(child);
}

const answer = (action = 'accept') => ({
  'mcp-warden/upstream': { action, content: { username: 'ada', email: 'ada@example.com' } },
});

describe('#18.3b bridge over warden stdio', () => {
  it("#18.3b.7 a retry that reuses the call's own id gets the call's result under it, and the id can be reused again", async () => {
    const line = stdio(writeConfig(SERVERS), []);
    line.send(call(1));
    const first = await line.next((m) => m.id === 1);
    expect(first.result?.resultType).toBe('input_required');
    const state = first.result.requestState as string;
    // JSON-RPC: id 1 was answered, so the agent may use it again, here for the retry itself.
    line.send(call(1, { inputResponses: answer(), requestState: state }));
    const done = await line.next((m) => m.id === 1);
    expect(done.error).toBeUndefined();
    expect(done.result.resultType).toBe('complete');
    expect(JSON.stringify(done.result.content)).toContain('ada@example.com');
    // Once more under the same id: a fresh call, a fresh question.
    line.send(call(1));
    expect((await line.next((m) => m.id === 1)).result?.resultType).toBe('input_required');
    expect(line.rest.filter((m) => m.error !== undefined)).toEqual([]);
  }, 90_000);

  it('#18.3b.8 another request reusing the id of a call that still runs upstream is answered under that id, and the call still completes', async () => {
    const line = stdio(writeConfig(SERVERS), []);
    line.send(call('a'));
    const first = await line.next((m) => m.id === 'a');
    expect(first.result?.resultType).toBe('input_required');
    line.send({ jsonrpc: '2.0', id: 'a', method: 'tools/list', params: { _meta: meta } });
    const listed = await line.next((m) => m.id === 'a');
    expect(listed.result.tools.map((t: Json) => t.name)).toContain('test_elicitation');
    line.send(call('b', { inputResponses: answer(), requestState: first.result.requestState }));
    const done = await line.next((m) => m.id === 'b');
    expect(JSON.stringify(done.result.content)).toContain('ada@example.com');
  }, 90_000);

  it('#18.3b.9 a retry after the grant was revoked is refused; its answer never reaches the upstream and the call ends', async () => {
    const file = writeConfig(`${SERVERS}auth: { anonymous: false }\n`);
    expect(runCli(['grants', 'create', 'desk', '--config', file, '--json']).status).toBe(0);
    const line = stdio(file, ['--grant', 'desk']);
    line.send(call(1));
    const first = await line.next((m) => m.id === 1);
    expect(first.result?.resultType).toBe('input_required');
    expect(runCli(['grants', 'revoke', 'desk', '--config', file]).status).toBe(0);
    line.send(call(2, { inputResponses: answer(), requestState: first.result.requestState }));
    const refused = await line.next((m) => m.id === 2);
    expect(refused.error?.message).toMatch(/revoked/);
    // The records: the call ended cancelled (the upstream was told), the retry denied by the recheck; the upstream
    // never answered the call, which it would have with the agent's answer in hand.
    let rows: Json[] = [];
    for (let i = 0; i < 100; i++) {
      const r = runCli(['audit', 'query', '--config', file, '--json', '--grant', 'desk']);
      rows = r.stdout
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Json);
      if (rows.length >= 2 && rows.every((row) => row.outcome !== undefined && row.outcome !== 'pending'))
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const calls = rows.filter((r) => r.method === 'tools/call');
    expect(calls.map((r) => [r.decision, r.outcome, r.rule])).toEqual([
      ['allowed', 'cancelled', null],
      ['denied', 'not_called', '(grant revoked)'],
    ]);
  }, 90_000);
});
