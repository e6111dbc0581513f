// Servers and tools: classification with its evidence, pin state, and what the policy in force does with each tool.
import { useEffect, useState } from 'preact/hooks';
import { api, can, type Me, type Tool } from '../api.js';
import { Alert } from '../parts.js';

export function RiskBadge({ risk }: { risk: string | null }) {
  if (risk === null) return <span class="badge">unknown</span>;
  return <span class={`badge risk-${risk}`}>{risk}</span>;
}

export function ToolsPage({ me }: { me: Me }) {
  const [tools, setTools] = useState<Tool[]>();
  const [filter, setFilter] = useState('');
  const [error, setError] = useState('');
  const [scan, setScan] = useState('');
  const load = () =>
    api<Tool[]>('GET', '/api/tools')
      .then(setTools)
      .catch((e) => setError((e as Error).message));
  useEffect(() => {
    void load();
  }, []);
  const accept = async (t: Tool) => {
    try {
      await api('POST', `/api/tools/${encodeURIComponent(t.server)}/${encodeURIComponent(t.name)}/accept`);
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const scanNow = async () => {
    setScan('Listing every server’s tools…');
    try {
      const r = await api<Array<{ server: string; tools?: number; error?: string }>>(
        'POST',
        '/api/tools/scan',
      );
      setScan(
        r
          .map((s) =>
            s.error === undefined ? `${s.server}: ${s.tools} tools` : `${s.server}: failed (${s.error})`,
          )
          .join('; '),
      );
      await load();
    } catch (e) {
      setScan('');
      setError((e as Error).message);
    }
  };
  const shown = (tools ?? []).filter((t) =>
    `${t.server} ${t.name} ${t.category} ${t.risk} ${t.decision}`
      .toLowerCase()
      .includes(filter.toLowerCase()),
  );
  return (
    <section aria-labelledby="tools-title">
      <h1 id="tools-title">Servers &amp; tools</h1>
      <div class="toolbar">
        <label for="tool-filter">Filter</label>
        <input
          id="tool-filter"
          type="search"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
        />
        <button type="button" onClick={load}>
          Refresh
        </button>
        {can(me, 'admin') && (
          <button type="button" onClick={scanNow}>
            Scan servers now
          </button>
        )}
        <span role="status">{scan}</span>
      </div>
      <Alert message={error} />
      {tools !== undefined && tools.length === 0 && (
        <p>
          No tools seen yet. Tools appear once an agent lists them through the gateway, or when an admin
          presses “Scan servers now”.
        </p>
      )}
      <div class="table-wrap">
        <table class="tools">
          <thead>
            <tr>
              <th scope="col">Server</th>
              <th scope="col">Tool</th>
              <th scope="col">Category</th>
              <th scope="col">Risk</th>
              <th scope="col">Policy</th>
              <th scope="col">Definition</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((t) => (
              <tr key={`${t.server}/${t.name}`} data-tool={`${t.server}/${t.name}`}>
                <td>{t.server}</td>
                <td>
                  <code>{t.name}</code>
                </td>
                <td>{t.category}</td>
                <td>
                  <RiskBadge risk={t.risk} />
                </td>
                <td>
                  <span class={`badge p-${t.decision}`}>{t.decision.replace('_', ' ')}</span>
                </td>
                <td>
                  {t.changed ? (
                    <>
                      <span class="badge risk-high">changed</span>{' '}
                      {can(me, 'admin') && (
                        <button type="button" onClick={() => accept(t)}>
                          Accept new definition
                        </button>
                      )}
                    </>
                  ) : (
                    <span class="badge">pinned</span>
                  )}
                </td>
                <td>
                  <details>
                    <summary>
                      {t.signals.length} signal{t.signals.length === 1 ? '' : 's'}, confidence{' '}
                      {Math.round(t.confidence * 100)}%
                    </summary>
                    <p>{t.rationale}</p>
                    <ul>
                      {t.signals.map((s, i) => (
                        <li key={i}>
                          <strong>{s.kind}</strong>: <q>{s.evidence}</q>
                        </li>
                      ))}
                    </ul>
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="hint">
        Policy shows what the policy in force does with a call of the tool without arguments.
      </p>
    </section>
  );
}
