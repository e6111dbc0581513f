// The dashboard: log-in, then one page per hash route, with the overview streamed from the gateway every 2 s.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, clearSession, csrfParam, type Me, type Overview, setSession } from './api.js';
import { ApprovalsPage } from './pages/approvals.js';
import { AuditPage } from './pages/audit.js';
import { FlowsPage } from './pages/flows.js';
import { GrantsPage } from './pages/grants.js';
import { OverviewPage } from './pages/overview.js';
import { PolicyPage } from './pages/policy.js';
import { ToolsPage } from './pages/tools.js';
import { Alert } from './parts.js';

const PAGES = [
  { route: 'overview', title: 'Overview' },
  { route: 'tools', title: 'Servers & tools' },
  { route: 'policy', title: 'Policy' },
  { route: 'audit', title: 'Audit' },
  { route: 'flows', title: 'Flows' },
  { route: 'approvals', title: 'Approvals' },
  { route: 'grants', title: 'Grants' },
] as const;
type Route = (typeof PAGES)[number]['route'];

function currentRoute(): Route {
  const r = location.hash.replace(/^#\/?/, '');
  return (PAGES.find((p) => p.route === r)?.route ?? 'overview') as Route;
}

function Login({ onLogin }: { onLogin: (me: Me & { csrf: string }) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [oidc, setOidc] = useState(false);
  useEffect(() => {
    api<{ oidc: boolean }>('GET', '/api/login-options')
      .then((o) => setOidc(o.oidc))
      .catch(() => setOidc(false));
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      onLogin(await api<Me & { csrf: string }>('POST', '/api/session', { token }));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <h1>mcp-warden</h1>
      {oidc && (
        <p class="sso">
          <a class="button" href="/api/oidc/login">
            Log in with your identity provider
          </a>
        </p>
      )}
      <form onSubmit={submit} aria-describedby={error ? 'login-error' : undefined}>
        <label for="token">Admin token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          required
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
        />
        <button type="submit" disabled={busy}>
          Log in
        </button>
        <Alert id="login-error" message={error} />
        <p class="hint">
          An admin token from <code>warden grants create &lt;label&gt; --role admin</code>, or the value of{' '}
          <code>WARDEN_ADMIN_TOKEN</code>.
        </p>
      </form>
    </main>
  );
}

/** A short beep for a new approval request, when the person asked for sound. */
function beep(): void {
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    osc.frequency.value = 880;
    osc.connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.15);
  } catch {
    // No audio here: the title badge still shows the count.
  }
}

function useOverview(): Overview | undefined {
  const [overview, setOverview] = useState<Overview>();
  useEffect(() => {
    const events = new EventSource(`/api/events?${csrfParam()}`);
    events.addEventListener('overview', (e) => setOverview(JSON.parse((e as MessageEvent).data)));
    return () => events.close();
  }, []);
  return overview;
}

function Shell({ me, onLogout }: { me: Me; onLogout: () => void }) {
  const [route, setRoute] = useState<Route>(currentRoute());
  const [sound, setSound] = useState(localStorage.getItem('warden.sound') === 'on');
  const overview = useOverview();
  const pending = overview?.pendingApprovals ?? 0;
  const lastPending = useRef(0);
  useEffect(() => {
    const onHash = () => setRoute(currentRoute());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    document.title = pending > 0 ? `(${pending}) mcp-warden` : 'mcp-warden';
    if (pending > lastPending.current && sound) beep();
    lastPending.current = pending;
  }, [pending, sound]);
  const toggleSound = () => {
    localStorage.setItem('warden.sound', sound ? 'off' : 'on');
    setSound(!sound);
  };
  const logout = async () => {
    await api('DELETE', '/api/session').catch(() => undefined);
    onLogout();
  };
  return (
    <>
      <header class="top">
        <a class="brand" href="#/overview">
          mcp-warden
        </a>
        <nav aria-label="Dashboard">
          <ul>
            {PAGES.map((p) => (
              <li key={p.route}>
                <a href={`#/${p.route}`} aria-current={route === p.route ? 'page' : undefined}>
                  {p.title}
                  {p.route === 'approvals' && pending > 0 && (
                    <span class="count">
                      {pending}
                      <span class="sr-only"> pending</span>
                    </span>
                  )}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <button type="button" class="quiet" aria-pressed={sound} onClick={toggleSound}>
            Sound {sound ? 'on' : 'off'}
          </button>
          <span>
            {me.label} <span class="role">{me.role}</span>
          </span>
          <button type="button" class="quiet" onClick={logout}>
            Log out
          </button>
        </div>
      </header>
      <main id="main">
        {route === 'overview' && <OverviewPage overview={overview} />}
        {route === 'tools' && <ToolsPage me={me} />}
        {route === 'policy' && <PolicyPage />}
        {route === 'audit' && <AuditPage overview={overview} />}
        {route === 'flows' && <FlowsPage overview={overview} />}
        {route === 'approvals' && <ApprovalsPage me={me} overview={overview} />}
        {route === 'grants' && <GrantsPage me={me} />}
      </main>
    </>
  );
}

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const loggedOut = () => {
    clearSession();
    setMe(null);
  };
  useEffect(() => {
    setSession(undefined, loggedOut);
    // Back from an OIDC log-in: the one-time hand-off code in the fragment buys this session's CSRF token.
    const handoff = /^#oidc=([A-Za-z0-9_-]+)$/.exec(location.hash)?.[1];
    if (handoff !== undefined) {
      history.replaceState(null, '', '#/overview');
      api<Me & { csrf: string }>('POST', '/api/session', { handoff })
        .then((m) => {
          setSession(m.csrf, loggedOut);
          setMe({ label: m.label, role: m.role });
        })
        .catch(() => setMe(null));
      return;
    }
    api<Me>('GET', '/api/session')
      .then(setMe)
      .catch((err) => {
        if (!(err instanceof ApiError)) console.error(err);
        setMe(null);
      });
  }, []);
  if (me === undefined) return <p class="boot">Loading…</p>;
  if (me === null)
    return (
      <Login
        onLogin={(m) => {
          setSession(m.csrf, loggedOut);
          setMe({ label: m.label, role: m.role });
        }}
      />
    );
  return <Shell me={me} onLogout={loggedOut} />;
}

render(<App />, document.getElementById('app')!);
