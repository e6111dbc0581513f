// Servers and tools: classification with its evidence, pin state, and what the policy in force does with each tool.
import { useEffect, useState } from 'preact/hooks';
import { api, can, type Me, type PinReview, type Tool } from '../api.js';
import { Alert } from '../parts.js';

export function RiskBadge({ risk }: { risk: string | null }) {
  if (risk === null) return <span class="badge">unknown</span>;
  return <span class={`badge risk-${risk}`}>{risk}</span>;
}

const toolPath = (server: string, name: string) =>
  `/api/tools/${encodeURIComponent(server)}/${encodeURIComponent(name)}`;

/**
 * What a person must read before accepting a definition: each field that changed as a line diff (hidden characters
 * arrive escaped from the gateway, so text is shown as text), the poisoning findings, and accept for that very
 * definition (its hash: one that arrived since is not accepted unseen).
 */
function DefinitionReview({ tool, me, done }: { tool: Tool; me: Me; done: () => void }) {
  const [review, setReview] = useState<PinReview>();
  const [error, setError] = useState('');
  useEffect(() => {
    api<PinReview>('GET', `${toolPath(tool.server, tool.name)}/pin`)
      .then(setReview)
      .catch((e) => setError((e as Error).message));
  }, [tool.server, tool.name]);
  const accept = async () => {
    try {
      await api('POST', `${toolPath(tool.server, tool.name)}/accept`, { hash: review?.review?.hash });
      done();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  if (error !== '') return <Alert message={error} />;
  if (review === undefined) return <p>Loading…</p>;
  const r = review.review;
  if (r === null) return <p>Nothing waits for review.</p>;
  return (
    <div class="definition-review" data-review={`${tool.server}/${tool.name}`}>
      <p>
        {r.reason === 'changed'
          ? `Changed since it was accepted on ${review.acceptedAt} by ${review.acceptedBy}; seen ${r.seenAt}.`
          : `First seen ${r.seenAt}; flagged as tool poisoning, so nobody has accepted it yet.`}
      </p>
      {r.poisoning.length > 0 && (
        <ul class="poisoning">
          {r.poisoning.map((s, i) => (
            <li key={i}>
              <strong>tool poisoning</strong>: <q>{s.evidence}</q>
            </li>
          ))}
        </ul>
      )}
      {r.diff.hiddenCharacters.length > 0 && (
        <p class="hidden-chars" role="alert">
          Hidden characters (shown escaped): {r.diff.hiddenCharacters.join(', ')}
        </p>
      )}
      {r.diff.fields
        .filter((f) => f.changed)
        .map((f) => (
          <div class="diff-field" key={f.field} data-field={f.field}>
            <h3>{f.field}</h3>
            <pre class="diff">
              {f.lines.map((l, i) => (
                <div key={i} class={l.op === '+' ? 'diff-add' : l.op === '-' ? 'diff-del' : 'diff-same'}>
                  {`${l.op} ${l.text}`}
                </div>
              ))}
            </pre>
          </div>
        ))}
      {can(me, 'admin') && (
        <button type="button" onClick={accept}>
          Accept this definition
        </button>
      )}
    </div>
  );
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
  const [reviewing, setReviewing] = useState('');
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
                <td>
                  {t.category}
                  {(t.labels ?? []).map((l) => (
                    <span key={l.label} class="badge" title={`${l.source}: ${l.why}`} data-label={l.label}>
                      {' '}
                      {l.label}
                    </span>
                  ))}
                </td>
                <td>
                  <RiskBadge risk={t.risk} />
                </td>
                <td>
                  <span class={`badge p-${t.decision}`}>{t.decision.replace('_', ' ')}</span>
                </td>
                <td>
                  {t.changed || t.poisoned ? (
                    <>
                      <span class="badge risk-high">{t.poisoned ? 'poisoned' : 'changed'}</span>{' '}
                      <button
                        type="button"
                        aria-expanded={reviewing === `${t.server}/${t.name}`}
                        onClick={() =>
                          setReviewing(reviewing === `${t.server}/${t.name}` ? '' : `${t.server}/${t.name}`)
                        }
                      >
                        Review definition
                      </button>
                      {reviewing === `${t.server}/${t.name}` && (
                        <DefinitionReview
                          tool={t}
                          me={me}
                          done={() => {
                            setReviewing('');
                            void load();
                          }}
                        />
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
