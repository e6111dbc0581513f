// Dashboard log-in through a real OpenID provider (oidc-provider on loopback, test/fixtures/dashboard-idp.ts) in a
// real Chromium against the built gateway: the person clicks through the provider's own log-in and consent pages and
// lands on the dashboard with the role its groups claim maps to; a person with no mapped group is refused; a
// callback that was not started in this browser, or is replayed, starts no session. Needs `npm run build`.
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../fixtures/oidc-idp.js';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';
import { type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { PROBE, ROOT, tempDir } from '../helpers/gateway.js';

const WAIT = { timeout: 15_000 };
const ARTIFACTS = join(ROOT, 'test-artifacts/dashboard');
const CLIENT = 'warden-dashboard';
const SECRET = 'dashboard-oidc-e2e-client-secret';
const available = chromiumAvailable('dashboard OIDC e2e');

/** A free loopback port: the redirect URI registered at the provider must name the admin port exactly. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

let idp: TestIdp;
let gw: ServeProcess;
let browser: Browser;
let adminUrl: string;

/** Through the provider's own pages: log-in (any password), then consent. */
async function logInAtProvider(page: Page, login: string): Promise<void> {
  await page.goto(adminUrl);
  await page.getByRole('link', { name: 'Log in with your identity provider' }).click();
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
}

async function fresh(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  return { context, page: await context.newPage() };
}

describe.skipIf(!available)('dashboard log-in through the identity provider (Chromium)', () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const port = await freePort();
    adminUrl = `http://127.0.0.1:${port}`;
    idp = await startTestIdp({
      clientId: CLIENT,
      clientSecret: SECRET,
      redirectUri: `${adminUrl}/api/oidc/callback`,
      accounts: {
        alice: { email: 'alice@example.com', groups: ['staff', 'warden-approvers'] },
        // Groups as one space-separated string, as some providers send them.
        carol: { email: 'carol@example.com', groups: 'staff warden-admins' },
        bob: { email: 'bob@example.com', groups: ['staff'] },
      },
    });
    gw = await serveCli(
      writeConfig(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
storage: sqlite:${join(tempDir('warden-dash-oidc-'), 'warden.db')}
auth:
  anonymous: true
  dashboard:
    issuer: ${idp.issuer}
    clientId: ${CLIENT}
    clientSecret: \${WARDEN_TEST_DASHBOARD_SECRET}
    redirectUri: ${adminUrl}/api/oidc/callback
    scopes: [openid, email, groups]
    roles:
      admin: [warden-admins]
      approver: [warden-approvers]
`),
      ['--admin', `127.0.0.1:${port}`],
      { env: { WARDEN_TEST_DASHBOARD_SECRET: SECRET } },
    );
    expect(gw.adminUrl).toBe(adminUrl);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await idp?.close();
  });

  it('#20.a1 logs in through the provider’s pages and lands on the dashboard with the role from the groups claim', async () => {
    const { context, page } = await fresh();
    await logInAtProvider(page, 'alice');
    await page.getByRole('heading', { name: 'Overview' }).waitFor(WAIT);
    expect(await page.locator('header.top').textContent()).toContain('oidc:alice@example.com');
    expect(await page.locator('header.top .role').textContent()).toBe('approver');
    // The hand-off code is gone from the address; the session cookie is HttpOnly.
    expect(page.url()).not.toContain('oidc=');
    expect(await page.evaluate('document.cookie')).toBe('');
    const cookie = (await context.cookies(adminUrl)).find((c) => c.name === 'warden_session');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Strict');
    // The role holds on the API: an approver reads approvals but may not manage grants.
    const status = (method: string, path: string) =>
      page.evaluate(
        async ([m, p]) =>
          (
            await fetch(p!, {
              method: m,
              headers: {
                // In the page (this file is typed without the DOM library).
                'x-csrf-token':
                  (
                    globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }
                  ).sessionStorage.getItem('warden.csrf') ?? '',
                'content-type': 'application/json',
              },
              body: m === 'POST' ? JSON.stringify({ label: 'by-approver' }) : undefined,
            })
          ).status,
        [method, path],
      );
    expect(await status('GET', '/api/approvals')).toBe(200);
    expect(await status('POST', '/api/grants')).toBe(403);
    // A reload keeps the log-in.
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor(WAIT);
    await page.screenshot({ path: join(ARTIFACTS, 'oidc-logged-in.png') });
    // Log-out ends the session on the server, not only in the page.
    const before = (await context.cookies(adminUrl)).find((c) => c.name === 'warden_session')!.value;
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('link', { name: 'Log in with your identity provider' }).waitFor(WAIT);
    const replay = await fetch(`${adminUrl}/api/approvals`, {
      headers: { cookie: `warden_session=${before}` },
    });
    expect(replay.status).toBe(401);
    await context.close();
  }, 60_000);

  it('#20.a2 maps a space-separated groups claim to admin', async () => {
    const { context, page } = await fresh();
    await logInAtProvider(page, 'carol');
    await page.getByRole('heading', { name: 'Overview' }).waitFor(WAIT);
    expect(await page.locator('header.top .role').textContent()).toBe('admin');
    await context.close();
  }, 60_000);

  it('#20.a3 refuses a person whose groups map to no role, and starts no session', async () => {
    const { context, page } = await fresh();
    await logInAtProvider(page, 'bob');
    await page.getByRole('heading', { name: 'Log-in refused' }).waitFor(WAIT);
    expect(await page.locator('#reason').textContent()).toContain(
      'oidc:bob@example.com has no dashboard role',
    );
    expect((await context.cookies(adminUrl)).find((c) => c.name === 'warden_session')).toBeUndefined();
    await page.screenshot({ path: join(ARTIFACTS, 'oidc-refused.png') });
    await context.close();
  }, 60_000);

  it('#20.a4 a callback not started in this browser (log-in CSRF) or replayed starts no session', async () => {
    // An attacker starts a log-in and hands the victim the callback URL with the attacker's state.
    const start = await fetch(`${adminUrl}/api/oidc/login`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const { context, page } = await fresh();
    const res = await page.goto(`${adminUrl}/api/oidc/callback?state=${state}&code=stolen`);
    expect(res?.status()).toBe(403);
    expect(await page.locator('#reason').textContent()).toContain('started in another browser');
    // The state was used up by that attempt: the attacker's own browser cannot use it either.
    const again = await fetch(`${adminUrl}/api/oidc/callback?state=${state}&code=stolen`, {
      headers: { cookie: start.headers.get('set-cookie')!.split(';')[0]! },
    });
    expect(again.status).toBe(403);
    expect(await again.text()).toContain('unknown or expired log-in');
    expect((await context.cookies(adminUrl)).find((c) => c.name === 'warden_session')).toBeUndefined();
    // A made-up hand-off code buys no CSRF token.
    const handoff = await fetch(`${adminUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ handoff: 'made-up' }),
    });
    expect(handoff.status).toBe(401);
    await context.close();
  }, 60_000);
});
