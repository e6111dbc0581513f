// Policy: each server's policies as written, and a simulator that shows what a call would get and why.
import { useEffect, useState } from 'preact/hooks';
import { api, type Grant, type Tool } from '../api.js';
import { Alert } from '../parts.js';

interface Layer {
  source: string;
  file: string | null;
  format: string;
  default: string;
  shadow: boolean;
  text: string | null;
}

interface ServerPolicies {
  server: string;
  layers: Layer[];
  /** Tool names the policies name that no upstream lists (a typo hides or limits nothing). */
  warnings?: Array<{ policy: string; at: string; tool: string; message: string }>;
}

interface Step {
  rule: string;
  check: string;
  result: string;
  detail?: string;
}

interface DecisionView {
  outcome: string;
  rule: string;
  policy: string;
  reason: string | null;
  limits: Array<{ rule: string; max: number; windowMs: number; scope: string }>;
  approval: { rule: string; mode: string; timeoutMs: number } | null;
}

interface Simulation {
  decision: DecisionView;
  path: Array<{ policy: string; shadow: boolean; decision: DecisionView; steps: Step[] }>;
  tool: { category: string; risk: string; changed: boolean } | null;
}

/** JSON policies are often written on one line: shown indented. YAML is shown as written. */
function readable(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function Simulator({ servers, tools }: { servers: string[]; tools: Tool[] }) {
  const [grants, setGrants] = useState<Grant[]>([]);
  const [server, setServer] = useState(servers[0] ?? '');
  const [tool, setTool] = useState('');
  const [grant, setGrant] = useState('');
  const [args, setArgs] = useState('{}');
  const [result, setResult] = useState<Simulation>();
  const [error, setError] = useState('');
  useEffect(() => {
    api<Grant[]>('GET', '/api/grants')
      .then((g) => setGrants(g.filter((x) => x.kind === 'agent' && x.revokedAt === null)))
      .catch(() => setGrants([]));
  }, []);
  const run = async (e: Event) => {
    e.preventDefault();
    setError('');
    setResult(undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(args === '' ? '{}' : args);
    } catch (err) {
      setError(`Arguments are not JSON: ${(err as Error).message}`);
      return;
    }
    try {
      setResult(
        await api<Simulation>('POST', '/api/simulate', {
          server,
          tool,
          grant: grant || undefined,
          arguments: parsed,
        }),
      );
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const known = tools.filter((t) => t.server === server);
  return (
    <section aria-labelledby="sim-title" class="panel">
      <h2 id="sim-title">What would happen if…</h2>
      <form class="grid-form" onSubmit={run}>
        <label for="sim-server">Server</label>
        <select
          id="sim-server"
          value={server}
          onChange={(e) => setServer((e.target as HTMLSelectElement).value)}
        >
          {servers.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <label for="sim-tool">Tool</label>
        <input
          id="sim-tool"
          required
          list="sim-tools"
          value={tool}
          onInput={(e) => setTool((e.target as HTMLInputElement).value)}
        />
        <datalist id="sim-tools">
          {known.map((t) => (
            <option key={t.name} value={t.name} />
          ))}
        </datalist>
        <label for="sim-grant">Grant</label>
        <select
          id="sim-grant"
          value={grant}
          onChange={(e) => setGrant((e.target as HTMLSelectElement).value)}
        >
          <option value="">(no grant: the server's policies only)</option>
          {grants.map((g) => (
            <option key={g.id} value={g.label}>
              {g.label}
            </option>
          ))}
        </select>
        <label for="sim-args">Arguments (JSON)</label>
        <textarea
          id="sim-args"
          rows={5}
          spellcheck={false}
          value={args}
          onInput={(e) => setArgs((e.target as HTMLTextAreaElement).value)}
        />
        <span />
        <button type="submit">Simulate</button>
      </form>
      <Alert message={error} />
      {result && (
        <div class="simulation" aria-live="polite">
          <p>
            <span class={`badge p-${result.decision.outcome}`} data-testid="sim-outcome">
              {result.decision.outcome.replace('_', ' ')}
            </span>{' '}
            by <code>{result.decision.rule}</code> in <code>{result.decision.policy}</code>
            {result.decision.reason && <>: {result.decision.reason}</>}
          </p>
          {result.tool && (
            <p>
              Tool classified {result.tool.category} / {result.tool.risk}
              {result.tool.changed && ' (definition changed, not yet accepted)'}.
            </p>
          )}
          {result.decision.limits.map((l) => (
            <p key={l.rule}>
              Limit <code>{l.rule}</code>: {l.max} per {l.windowMs / 1000}s, per {l.scope}.
            </p>
          ))}
          {result.decision.approval && (
            <p>
              Needs approval ({result.decision.approval.mode}, {result.decision.approval.timeoutMs / 1000}s)
              by <code>{result.decision.approval.rule}</code>.
            </p>
          )}
          {result.path.length === 0 && <p>No policy applies to this server: every call is allowed.</p>}
          <ol class="path">
            {result.path.map((p) => (
              <li key={p.policy}>
                <p>
                  <code>{p.policy}</code>
                  {p.shadow && ' (shadow)'}: {p.decision.outcome} by <code>{p.decision.rule}</code>
                </p>
                <ul>
                  {p.steps.map((s, i) => (
                    <li key={i}>
                      <span class={`step s-${s.result}`}>{s.result}</span> <code>{s.rule}</code> {s.check}
                      {s.detail && ` (${s.detail})`}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ol>
        </div>
      )}
    </section>
  );
}

export function PolicyPage() {
  const [policies, setPolicies] = useState<ServerPolicies[]>();
  const [tools, setTools] = useState<Tool[]>([]);
  const [error, setError] = useState('');
  useEffect(() => {
    api<ServerPolicies[]>('GET', '/api/policies')
      .then(setPolicies)
      .catch((e) => setError((e as Error).message));
    api<Tool[]>('GET', '/api/tools')
      .then(setTools)
      .catch(() => setTools([]));
  }, []);
  if (error) return <Alert message={error} />;
  if (policies === undefined) return <p>Loading…</p>;
  return (
    <section aria-labelledby="policy-title">
      <h1 id="policy-title">Policy</h1>
      <Simulator servers={policies.map((p) => p.server)} tools={tools} />
      {policies.map((p) => (
        <section key={p.server} class="panel" aria-labelledby={`pol-${p.server}`}>
          <h2 id={`pol-${p.server}`}>{p.server}</h2>
          {p.layers.length === 0 && <p>No policy: every call is allowed and every tool listed.</p>}
          {(p.warnings ?? []).length > 0 && (
            <ul class="error" role="alert" aria-label={`Warnings for ${p.server}`}>
              {p.warnings!.map((w) => (
                <li key={`${w.policy}${w.at}`}>
                  Warning: {w.message} (<code>{w.policy}</code> at <code>{w.at}</code>)
                </li>
              ))}
            </ul>
          )}
          {p.layers.map((l) => (
            <details key={l.source} open={p.layers.length === 1}>
              <summary>
                <code>{l.source}</code> ({l.format}, default {l.default}
                {l.shadow ? ', shadow mode' : ''})
              </summary>
              {l.text === null ? <p>The policy is too large to show here.</p> : <pre>{readable(l.text)}</pre>}
            </details>
          ))}
          <p class="hint">
            Several policies apply in order: each may only narrow what the ones before allow.
          </p>
        </section>
      ))}
    </section>
  );
}
