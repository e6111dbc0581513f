// The dashboard in a real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core) against the built
// gateway: log in, see tools with risk, see a call in the audit log, approve and deny held calls by clicking, run the
// simulator, create and revoke a grant. Screenshots go to test-artifacts/dashboard/.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';
import { type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { connect, PROBE, ROOT, tempDir, textOf } from '../helpers/gateway.js';

/** How long a poll waits for the page: generous, for a CI machine under load. */
const WAIT = { timeout: 10_000 };
const ADMIN = 'dashboard-e2e-admin-token';
const ARTIFACTS = join(ROOT, 'test-artifacts/dashboard');
const available = chromiumAvailable('dashboard e2e');

let gw: ServeProcess;
let browser: Browser;
let page: Page;
let agent: Client;
const pageErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Serious and critical accessibility violations on the page as it is now (axe-core, WCAG 2 A and AA rules). */
async function accessibilityProblems(): Promise<string[]> {
  const axe = readFileSync(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');
  // evaluate() runs outside the page's CSP, so the page itself still allows no script but its own.
  const result = (await page.evaluate(
    `${axe}; axe.run(document, { runOnly: ['wcag2a', 'wcag2aa'] }).then((r) => ({ passes: r.passes.length, problems: r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')) }))`,
  )) as { passes: number; problems: string[] };
  // A check that ran no rule would pass anything.
  expect(result.passes).toBeGreaterThan(5);
  return result.problems;
}

async function open(nav: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: nav }).click();
}

describe.skipIf(!available)('dashboard in Chromium', () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const policy = join(tempDir('warden-dash-e2e-'), 'policy.json');
    writeFileSync(
      policy,
      JSON.stringify({
        version: '1',
        default: 'allow',
        tools: {
          echo: { action: 'require_approval', reason: 'Echoes need a person' },
          pid: { action: 'deny', reason: 'Process ids are off' },
        },
      }),
    );
    process.env.WARDEN_ADMIN_TOKEN = ADMIN;
    gw = await serveCli(
      writeConfig(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: ${policy}
storage: sqlite:${join(tempDir('warden-dash-e2e-'), 'warden.db')}
`),
    );
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    page.on('dialog', (d) => void d.accept());
    agent = await connect(`${gw.mcpUrl}/probe`);
  }, 60_000);

  afterAll(async () => {
    await agent?.close().catch(() => undefined);
    await browser?.close();
    await gw?.stop();
  });

  it('refuses a wrong token and logs in with the admin token', async () => {
    await page.goto(gw.adminUrl);
    await page.getByLabel('Admin token').fill('not-a-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), WAIT).toContain('not a live admin token');
    await page.getByLabel('Admin token').fill(ADMIN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    // The cookie is not readable from the page.
    expect(await page.evaluate('document.cookie')).toBe('');
    // A reload keeps the log-in (the CSRF token is kept in this tab's sessionStorage).
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
  });

  it('shows a refused call on the overview charts as it happens', async () => {
    await agent.listTools();
    const denied = await agent.callTool({ name: 'pid', arguments: {} });
    expect(denied.isError).toBe(true);
    await expect.poll(() => page.getByTestId('refused').textContent(), WAIT).toBe('1');
    expect(await page.locator('rect.d-denied').count()).toBeGreaterThan(0);
    await shot('overview');
  });

  it('lists the tools with their risk, policy decision and evidence', async () => {
    await open('Servers & tools');
    await page.getByRole('button', { name: 'Scan servers now' }).click();
    await expect
      .poll(() => page.getByRole('status').first().textContent(), { timeout: 15_000 })
      .toBe('probe: 7 tools');
    const echo = page.locator('tr[data-tool="probe/echo"]');
    await echo.waitFor();
    expect(await echo.locator('.badge[class*="risk-"]').count()).toBe(1);
    expect(await echo.textContent()).toContain('require approval');
    expect(await page.locator('tr[data-tool="probe/pid"]').textContent()).toContain('deny');
    await echo.locator('summary').click();
    expect(await echo.locator('details').textContent()).toMatch(/confidence \d+%/);
    await shot('tools');
  });

  it('shows the call in the audit log, its record, and verifies the chain', async () => {
    await open('Audit');
    const row = page.locator('table.audit tbody tr', { hasText: 'pid' }).first();
    await row.waitFor();
    expect(await row.textContent()).toContain('denied');
    await row.getByRole('button').click();
    await expect
      .poll(() => page.locator('aside.detail pre').textContent(), WAIT)
      .toContain('Process ids are off');
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await expect
      .poll(() => page.getByTestId('verify').textContent(), WAIT)
      .toMatch(/^Chain intact: ok \d+ records$/);
    await shot('audit');
  });

  it('approves a held call by clicking, and the agent gets its answer', async () => {
    await open('Approvals');
    const held = agent.callTool({ name: 'echo', arguments: { text: 'ship it' } });
    const card = page.locator('article.approval', { hasText: 'echo' });
    await card.waitFor({ timeout: 10_000 });
    await expect.poll(() => page.title(), WAIT).toBe('(1) mcp-warden');
    expect(await card.locator('pre').textContent()).toContain('"text": "ship it"');
    await shot('approval-pending');
    await card.getByLabel('Note (optional)').fill('looks fine');
    await card.getByRole('button', { name: 'Approve' }).click();
    const result = await held;
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toContain('ship it');
    await expect.poll(() => page.locator('article.approval').count(), WAIT).toBe(0);
    // The decided approval's row comes with the next refresh of the list: poll, as for the count above.
    await expect.poll(() => page.locator('table').textContent(), WAIT).toContain('looks fine');
  });

  it('denies another held call by clicking, and the agent is told', async () => {
    const held = agent.callTool({ name: 'echo', arguments: { text: 'drop the table' } });
    const card = page.locator('article.approval', { hasText: 'drop the table' });
    await card.waitFor({ timeout: 10_000 });
    await card.getByLabel('Note (optional)').fill('not today');
    await card.getByRole('button', { name: 'Deny' }).click();
    const result = await held;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('[POLICY DENIED]');
    await expect.poll(() => page.title(), WAIT).toBe('mcp-warden');
  });

  it('simulates calls: a denied tool, and one that needs approval', async () => {
    await open('Policy');
    await page.getByLabel('Tool').fill('pid');
    await page.getByRole('button', { name: 'Simulate' }).click();
    await expect.poll(() => page.getByTestId('sim-outcome').textContent(), WAIT).toBe('deny');
    expect(await page.locator('.simulation').textContent()).toContain('Process ids are off');
    await page.getByLabel('Tool').fill('echo');
    await page.getByLabel('Arguments (JSON)').fill('{"text": "hi"}');
    await page.getByRole('button', { name: 'Simulate' }).click();
    await expect.poll(() => page.getByTestId('sim-outcome').textContent(), WAIT).toBe('require approval');
    expect(await page.locator('pre').first().textContent()).toContain('"require_approval"');
    await shot('policy');
  });

  it('creates a grant (token shown once) and revokes it', async () => {
    await open('Grants');
    await page.getByLabel('Label').fill('ci-runner');
    await page.getByRole('button', { name: 'Create' }).click();
    const token = await page.getByTestId('new-token').inputValue();
    expect(token.length).toBeGreaterThan(30);
    // The token works on the MCP endpoint until it is revoked.
    const status = () =>
      fetch(`${gw.mcpUrl}/probe`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 't', version: '1' },
          },
        }),
      }).then((r) => r.status);
    expect(await status()).toBe(200);
    const row = page.locator('tr[data-grant="ci-runner"]');
    await row.getByRole('button', { name: 'Revoke ci-runner' }).click();
    await expect.poll(() => row.textContent(), WAIT).toContain('revoked');
    expect(await status()).toBe(401);
    await shot('grants');
  });

  it('has no serious accessibility problems on any page (axe-core, WCAG 2 AA)', async () => {
    const problems: string[] = [];
    for (const nav of ['Overview', 'Servers & tools', 'Policy', 'Audit', 'Approvals', 'Grants']) {
      await open(nav);
      await page.waitForTimeout(300);
      problems.push(...(await accessibilityProblems()).map((p) => `${nav}: ${p}`));
    }
    expect(problems).toEqual([]);
  });

  it('fits a phone screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await open('Overview');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    // Nothing sticks out of the screen: no element ends right of it.
    // (A string: this file is compiled without the DOM library.)
    const outside = await page.evaluate(`[...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .map((e) => e.tagName)`);
    expect(outside).toEqual([]);
    await shot('overview-phone');
    await open('Approvals');
    await shot('approvals-phone');
  });

  it('ran without script errors or Content-Security-Policy violations', () => {
    // 401: the page asks who is logged in before the log-in; that answer is expected.
    expect(pageErrors.filter((e) => !e.includes('status of 401'))).toEqual([]);
  });
});
