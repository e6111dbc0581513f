// Overview: the last minutes of tool calls as charts, figures of the last five minutes, upstream health.
import type { Overview } from '../api.js';
import { CallsChart, LatencyChart, ms } from '../charts.js';

const REFUSED = ['denied', 'hidden', 'rate_limited', 'rejected', 'expired'];

export function OverviewPage({ overview }: { overview: Overview | undefined }) {
  if (overview === undefined) return <p aria-live="polite">Connecting to the gateway…</p>;
  const recent = overview.minutes.slice(-5);
  const calls = recent.reduce((n, m) => n + m.calls, 0);
  const refused = recent.reduce((n, m) => n + REFUSED.reduce((k, d) => k + (m.decisions[d] ?? 0), 0), 0);
  const latest = [...overview.minutes].reverse().find((m) => m.p50Ms !== null);
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <dl class="cards">
        <div>
          <dt>Calls, last 5 min</dt>
          <dd data-testid="calls">{calls}</dd>
        </div>
        <div>
          <dt>Refused, last 5 min</dt>
          <dd data-testid="refused">{refused}</dd>
        </div>
        <div>
          <dt>Latency p50 / p99</dt>
          <dd>{latest ? `${ms(latest.p50Ms!)} / ${ms(latest.p99Ms!)}` : '-'}</dd>
        </div>
        <div>
          <dt>Agent sessions</dt>
          <dd>{overview.sessions}</dd>
        </div>
        <div>
          <dt>Pending approvals</dt>
          <dd>
            <a href="#/approvals">{overview.pendingApprovals}</a>
          </dd>
        </div>
      </dl>
      <div class="charts">
        <CallsChart minutes={overview.minutes} />
        <LatencyChart minutes={overview.minutes} />
      </div>
      <h2>Upstreams</h2>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Server</th>
              <th scope="col">Transport</th>
              <th scope="col">Status</th>
              <th scope="col">Links ready</th>
            </tr>
          </thead>
          <tbody>
            {overview.upstreams.map((u) => (
              <tr key={u.server}>
                <td>{u.server}</td>
                <td>{u.transport}</td>
                <td>
                  <span class={`badge s-${u.status}`}>{u.status}</span>
                </td>
                <td>
                  {u.ready} / {u.links}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="hint">Figures of this gateway process; updated every 2 seconds.</p>
    </section>
  );
}
