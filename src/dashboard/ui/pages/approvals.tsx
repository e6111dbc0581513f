// Approvals: the pending queue with everything needed to decide in seconds, and the latest decisions.
import { useEffect, useState } from 'preact/hooks';
import { type Approval, age, api, can, type Me, type Overview, pretty } from '../api.js';
import { hasHidden, Visible } from '../hidden.js';
import { Alert } from '../parts.js';
import { RiskBadge } from './tools.js';

function Pending({ a, me, onDecided }: { a: Approval; me: Me; onDecided: () => void }) {
  const [note, setNote] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const decide = async (verb: 'approve' | 'deny') => {
    setBusy(true);
    setError('');
    try {
      await api('POST', `/api/approvals/${encodeURIComponent(a.id)}/${verb}`, note ? { note } : {});
      onDecided();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const allowed = can(me, 'approver');
  const args = pretty(a.arguments);
  const hidden = a.hiddenCharacters ?? [];
  const flagged = hidden.length > 0 || hasHidden(args) || hasHidden(a.tool);
  return (
    <article class="panel approval" aria-labelledby={`ap-${a.id}`} data-approval={a.id}>
      <h2 id={`ap-${a.id}`}>
        <code>
          <Visible text={a.tool} />
        </code>{' '}
        on <Visible text={a.server} /> <RiskBadge risk={a.risk} />
      </h2>
      <dl class="facts">
        <dt>{a.subject ? 'Acts for (subject)' : 'Grant'}</dt>
        <dd>{a.subject ?? a.grant ?? '(anonymous)'}</dd>
        <dt>Rule</dt>
        <dd>
          <code>{a.rule}</code>
        </dd>
        <dt>Waiting</dt>
        <dd>{age(a.createdAt)}</dd>
        <dt>Expires</dt>
        <dd>in {age(new Date().toISOString(), Date.parse(a.expiresAt))}</dd>
        {a.reason && (
          <>
            <dt>Reason</dt>
            <dd>{a.reason}</dd>
          </>
        )}
      </dl>
      {flagged && (
        <p class="hidden-warning" role="alert" data-hidden-characters>
          These arguments hold invisible or bidi characters, shown as <code>\u{'{…}'}</code>:{' '}
          {hidden
            .map((h) => `${h.path === '' ? '(arguments)' : h.path} (${h.characters.join(' ')})`)
            .join('; ')}
          . What you read may not be what the call does.
        </p>
      )}
      <figure class="args">
        <figcaption>Arguments</figcaption>
        <pre>
          <Visible text={args} />
        </pre>
      </figure>
      <div class="decide">
        <label for={`note-${a.id}`}>Note (optional)</label>
        <input
          id={`note-${a.id}`}
          value={note}
          disabled={!allowed}
          onInput={(e) => setNote((e.target as HTMLInputElement).value)}
        />
        <button type="button" class="approve" disabled={busy || !allowed} onClick={() => decide('approve')}>
          Approve
        </button>
        <button type="button" class="deny" disabled={busy || !allowed} onClick={() => decide('deny')}>
          Deny
        </button>
      </div>
      {!allowed && <p class="hint">Your role ({me.role}) can see approvals but not decide them.</p>}
      <Alert message={error} />
    </article>
  );
}

export function ApprovalsPage({ me, overview }: { me: Me; overview: Overview | undefined }) {
  const [pending, setPending] = useState<Approval[]>();
  const [recent, setRecent] = useState<Approval[]>([]);
  const [, setTick] = useState(0);
  const load = () => {
    api<Approval[]>('GET', '/api/approvals?status=pending')
      .then((list) => setPending(list.sort((x, y) => x.createdAt.localeCompare(y.createdAt))))
      .catch(() => setPending([]));
    api<Approval[]>('GET', '/api/approvals')
      .then((list) =>
        setRecent(
          list
            .filter((a) => a.status !== 'pending')
            .sort((x, y) => (y.decidedAt ?? y.createdAt).localeCompare(x.decidedAt ?? x.createdAt))
            .slice(0, 20),
        ),
      )
      .catch(() => setRecent([]));
  };
  // New requests show up with the overview stream's tick (2 s); ages count every second.
  useEffect(load, [overview?.time]);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, []);
  return (
    <section aria-labelledby="approvals-title">
      <h1 id="approvals-title">Approvals</h1>
      <div aria-live="polite">
        {pending !== undefined && pending.length === 0 && <p>No call is waiting for approval.</p>}
        {(pending ?? []).map((a) => (
          <Pending key={a.id} a={a} me={me} onDecided={load} />
        ))}
      </div>
      <h2>Latest decisions</h2>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Tool</th>
              <th scope="col">Grant</th>
              <th scope="col">Status</th>
              <th scope="col">By</th>
              <th scope="col">Note</th>
            </tr>
          </thead>
          <tbody>
            {recent.map((a) => (
              <tr key={a.id}>
                <td>
                  <code>
                    {a.server}/{a.tool}
                  </code>
                </td>
                <td>{a.subject ?? a.grant ?? '-'}</td>
                <td>
                  <span class={`badge a-${a.status}`}>{a.status}</span>
                </td>
                <td>{a.decidedBy ?? '-'}</td>
                <td>{a.note ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
