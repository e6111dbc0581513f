// Audit: the newest records with filters, following the log live, a record's detail, verify and export.
import { useEffect, useState } from 'preact/hooks';
import { type AuditRecord, api, csrfParam, type Overview, pretty } from '../api.js';
import { DECISION_ORDER } from '../charts.js';
import { Visible } from '../hidden.js';
import { Alert } from '../parts.js';

interface Filters {
  grant: string;
  server: string;
  tool: string;
  decision: string;
  since: string;
  until: string;
}

const EMPTY: Filters = { grant: '', server: '', tool: '', decision: '', since: '', until: '' };

function query(f: Filters): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) {
    if (v === '') continue;
    // datetime-local values are local times without a zone: send them as instants.
    q.set(k, k === 'since' || k === 'until' ? new Date(v).toISOString() : v);
  }
  return q.toString();
}

export function AuditPage({ overview }: { overview: Overview | undefined }) {
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  const [records, setRecords] = useState<AuditRecord[]>();
  const [live, setLive] = useState(true);
  const [selected, setSelected] = useState<AuditRecord>();
  const [verify, setVerify] = useState('');
  const [error, setError] = useState('');
  const load = () =>
    api<AuditRecord[]>('GET', `/api/audit?limit=200&${query(applied)}`)
      .then((r) => {
        setRecords(r.reverse());
        setError('');
      })
      .catch((e) => setError((e as Error).message));
  // Follows the log: reloads on every tick of the overview stream (2 s) while live.
  useEffect(() => {
    if (live || records === undefined) void load();
  }, [applied, live ? overview?.time : undefined]);
  const set = (k: keyof Filters) => (e: Event) =>
    setFilters({ ...filters, [k]: (e.target as HTMLInputElement).value });
  const runVerify = async () => {
    setVerify('Verifying…');
    try {
      const r = await api<{ ok: boolean; count: number; badSeq?: number; problem?: string }>(
        'POST',
        '/api/audit/verify',
      );
      setVerify(
        r.ok
          ? `Chain intact: ok ${r.count} records`
          : `Chain broken at record ${r.badSeq}: ${r.problem} (${r.count} verified before it)`,
      );
    } catch (e) {
      setVerify((e as Error).message);
    }
  };
  const field = (k: keyof Filters, label: string, type = 'text') => (
    <div>
      <label for={`f-${k}`}>{label}</label>
      <input id={`f-${k}`} type={type} value={filters[k]} onInput={set(k)} />
    </div>
  );
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(filters);
        }}
      >
        {field('grant', 'Grant')}
        {field('server', 'Server')}
        {field('tool', 'Tool')}
        <div>
          <label for="f-decision">Decision</label>
          <select id="f-decision" value={filters.decision} onChange={set('decision')}>
            <option value="">any</option>
            {DECISION_ORDER.map((d) => (
              <option key={d}>{d}</option>
            ))}
          </select>
        </div>
        {field('since', 'From', 'datetime-local')}
        {field('until', 'To', 'datetime-local')}
        <div class="actions">
          <button type="submit">Apply filters</button>
          <button
            type="button"
            class="quiet"
            onClick={() => {
              setFilters(EMPTY);
              setApplied(EMPTY);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <div class="toolbar">
        <label>
          <input type="checkbox" checked={live} onChange={() => setLive(!live)} /> Follow live
        </label>
        <button type="button" onClick={runVerify}>
          Verify chain
        </button>
        <a class="button" href={`/api/audit/export?format=jsonl&${query(applied)}&${csrfParam()}`} download>
          Export JSON Lines
        </a>
        <a class="button" href={`/api/audit/export?format=csv&${query(applied)}&${csrfParam()}`} download>
          Export CSV
        </a>
        <span role="status" data-testid="verify">
          {verify}
        </span>
      </div>
      <Alert message={error} />
      <div class="split">
        <div class="table-wrap">
          <table class="audit">
            <caption class="sr-only">Newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Grant / subject</th>
                <th scope="col">Server</th>
                <th scope="col">Method / tool</th>
                <th scope="col">Decision</th>
                <th scope="col">Outcome</th>
                <th scope="col">ms</th>
              </tr>
            </thead>
            <tbody>
              {(records ?? []).map((r) => (
                <tr key={r.requestKey} aria-selected={selected?.requestKey === r.requestKey}>
                  <td>
                    <button type="button" class="link" onClick={() => setSelected(r)}>
                      {new Date(r.time).toLocaleTimeString()}
                    </button>
                  </td>
                  <td>{r.grant ?? r.subject ?? '-'}</td>
                  <td>{r.server ?? '-'}</td>
                  <td>
                    <code>{r.tool ?? r.method}</code>
                  </td>
                  <td>
                    <span class={`badge d-${r.decision}`}>{r.decision}</span>
                  </td>
                  <td>{r.outcome ?? '-'}</td>
                  <td>{r.latencyMs ?? '-'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {records !== undefined && records.length === 0 && <p>No records match.</p>}
        </div>
        {selected && (
          <aside class="panel detail" aria-labelledby="record-title">
            <h2 id="record-title">Record {selected.seq}</h2>
            <pre>
              {/* An audit record's values (audit.args: full) may hide characters too: shown, never applied. */}
              <Visible text={pretty(selected)} />
            </pre>
            <button type="button" class="quiet" onClick={() => setSelected(undefined)}>
              Close
            </button>
          </aside>
        )}
      </div>
    </section>
  );
}
