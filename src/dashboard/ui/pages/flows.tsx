// Flows: each conversation's labels over time (first sighting of each) and the calls flow rules refused or held.
import { useEffect, useState } from 'preact/hooks';
import { type AuditRecord, api, type Conversation, type Overview } from '../api.js';
import { Visible } from '../hidden.js';
import { Alert } from '../parts.js';

interface FlowField {
  conversation: string;
  labels: string[];
  seen: string[];
  rule?: string;
  action?: 'deny' | 'hold';
  shadow?: boolean;
}

export function FlowsPage({ overview }: { overview: Overview | undefined }) {
  const [conversations, setConversations] = useState<Conversation[]>();
  const [refused, setRefused] = useState<AuditRecord[]>([]);
  const [error, setError] = useState('');
  useEffect(() => {
    Promise.all([
      api<Conversation[]>('GET', '/api/conversations'),
      api<AuditRecord[]>('GET', '/api/audit?limit=500'),
    ])
      .then(([c, records]) => {
        setConversations(c);
        setRefused(records.filter((r) => (r.flow as FlowField | undefined)?.rule !== undefined).reverse());
        setError('');
      })
      .catch((e) => setError((e as Error).message));
  }, [overview?.time]);
  return (
    <section>
      <h1>Data flows</h1>
      {error && <Alert message={error} />}
      <h2>Conversations</h2>
      {conversations?.length === 0 && <p>No conversation has seen a labelled result yet.</p>}
      {conversations?.map((c) => (
        <div key={c.conversation} data-conversation={c.conversation}>
          <h3>
            <code>
              <Visible text={c.conversation} />
            </code>
          </h3>
          <table>
            <thead>
              <tr>
                <th scope="col">First seen</th>
                <th scope="col">Label</th>
                <th scope="col">From</th>
              </tr>
            </thead>
            <tbody>
              {c.labels.map((l) => (
                <tr key={l.label}>
                  <td>{new Date(l.at).toLocaleString()}</td>
                  <td>
                    <span class="badge">{l.label}</span>
                  </td>
                  <td>
                    <code>
                      {l.server}/<Visible text={l.tool} />
                    </code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
      <h2>Calls decided by flow rules</h2>
      {refused.length === 0 ? (
        <p>None in the newest 500 audit records.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Conversation</th>
              <th scope="col">Call</th>
              <th scope="col">Rule</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {refused.map((r) => {
              const f = r.flow as FlowField;
              return (
                <tr key={r.seq} data-flow-rule={f.rule}>
                  <td>{new Date(r.time).toLocaleString()}</td>
                  <td>
                    <code>
                      <Visible text={f.conversation} />
                    </code>
                  </td>
                  <td>
                    <code>
                      {r.server}/<Visible text={r.tool ?? ''} />
                    </code>
                  </td>
                  <td>
                    {f.rule} {f.action}
                    {f.shadow ? ' (shadow)' : ''}
                  </td>
                  <td>
                    seen {f.seen.join(', ')}; tool is {f.labels.join(', ')}
                    {r.reason ? `: ${r.reason}` : ''}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
