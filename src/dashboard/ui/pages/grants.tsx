// Grants: agent identities and admin tokens; create one (its token is shown once) or revoke one.
import { useEffect, useState } from 'preact/hooks';
import { api, can, type Grant, type Me } from '../api.js';
import { Alert } from '../parts.js';

function CreateGrant({ onCreated }: { onCreated: () => void }) {
  const [label, setLabel] = useState('');
  const [role, setRole] = useState('');
  const [servers, setServers] = useState('');
  const [created, setCreated] = useState<{ label: string; token: string }>();
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    try {
      const list = servers
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      const r = await api<{ label: string; token: string }>('POST', '/api/grants', {
        label,
        ...(role ? { role } : {}),
        ...(list.length > 0 ? { servers: list } : {}),
      });
      setCreated(r);
      setLabel('');
      setServers('');
      onCreated();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section class="panel" aria-labelledby="create-title">
      <h2 id="create-title">Create a grant</h2>
      <form class="grid-form" onSubmit={submit}>
        <label for="g-label">Label</label>
        <input
          id="g-label"
          required
          pattern="[A-Za-z0-9][A-Za-z0-9._@\-]{0,63}"
          value={label}
          onInput={(e) => setLabel((e.target as HTMLInputElement).value)}
        />
        <label for="g-kind">Kind</label>
        <select id="g-kind" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
          <option value="">agent (MCP endpoint)</option>
          <option value="viewer">admin token: viewer</option>
          <option value="approver">admin token: approver</option>
          <option value="admin">admin token: admin</option>
        </select>
        <label for="g-servers">Servers (comma-separated, empty for all)</label>
        <input
          id="g-servers"
          value={servers}
          onInput={(e) => setServers((e.target as HTMLInputElement).value)}
        />
        <span />
        <button type="submit">Create</button>
      </form>
      <Alert message={error} />
      {created && (
        <div class="token" role="status">
          <p>
            Token of <strong>{created.label}</strong>. It is shown this once: copy it now.
          </p>
          <input
            readOnly
            aria-label="New token"
            data-testid="new-token"
            value={created.token}
            onFocus={(e) => (e.target as HTMLInputElement).select()}
          />
          <button type="button" onClick={() => navigator.clipboard?.writeText(created.token)}>
            Copy
          </button>
          <button type="button" class="quiet" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </div>
      )}
    </section>
  );
}

export function GrantsPage({ me }: { me: Me }) {
  const [grants, setGrants] = useState<Grant[]>();
  const [error, setError] = useState('');
  const load = () =>
    api<Grant[]>('GET', '/api/grants')
      .then(setGrants)
      .catch((e) => setError((e as Error).message));
  useEffect(() => {
    void load();
  }, []);
  const revoke = async (g: Grant) => {
    if (!confirm(`Revoke ${g.label}? Its token stops working on the next request.`)) return;
    try {
      await api('POST', `/api/grants/${encodeURIComponent(g.id)}/revoke`);
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const admin = can(me, 'admin');
  return (
    <section aria-labelledby="grants-title">
      <h1 id="grants-title">Grants</h1>
      {admin ? <CreateGrant onCreated={load} /> : <p class="hint">Only admins create and revoke grants.</p>}
      <Alert message={error} />
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Label</th>
              <th scope="col">Kind</th>
              <th scope="col">Servers</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {(grants ?? []).map((g) => (
              <tr key={g.id} data-grant={g.label}>
                <td>{g.label}</td>
                <td>{g.kind === 'admin' ? `admin token (${g.role})` : 'agent'}</td>
                <td>{g.servers === 'all' ? 'all' : g.servers.join(', ')}</td>
                <td>{new Date(g.createdAt).toLocaleString()}</td>
                <td>{g.lastUsedAt ? new Date(g.lastUsedAt).toLocaleString() : 'never'}</td>
                <td>
                  {g.revokedAt ? (
                    <span class="badge">revoked</span>
                  ) : admin ? (
                    <button type="button" class="deny" onClick={() => revoke(g)}>
                      Revoke {g.label}
                    </button>
                  ) : (
                    <span class="badge s-up">live</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
