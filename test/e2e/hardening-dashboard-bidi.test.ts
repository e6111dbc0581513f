// Issue #17.16 in a real headless Chromium against the built gateway: an approval whose arguments hold a bidi
// override and tag characters shows them escaped (\u{202E}) and marked, with a warning, and never renders them;
// its secrets (#17.14) are masked on the page.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';
import { type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { connect, PROBE, ROOT, tempDir } from '../helpers/gateway.js';

const WAIT = { timeout: 10_000 };
const ADMIN = 'dashboard-bidi-admin-token';
const available = chromiumAvailable('dashboard bidi e2e');

const RLO = '\u202E';
const PAYEE = `billing@example.com${RLO}moc.live\u{E0041}\u200B`;
const PASSWORD = 'dashboard-must-not-show-pw-9931';

let gw: ServeProcess;
let browser: Browser;
let page: Page;
let agent: Client;
const pageErrors: string[] = [];

describe.skipIf(!available)('#17.16 dashboard approvals in Chromium', () => {
  beforeAll(async () => {
    const policy = join(tempDir('warden-bidi-e2e-'), 'policy.json');
    writeFileSync(
      policy,
      JSON.stringify({ version: '1', default: 'allow', tools: { echo: { action: 'require_approval' } } }),
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
storage: sqlite:${join(tempDir('warden-bidi-e2e-'), 'warden.db')}
`),
    );
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    agent = await connect(`${gw.mcpUrl}/probe`);
    await page.goto(gw.adminUrl);
    await page.getByLabel('Admin token').fill(ADMIN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
  }, 60_000);

  afterAll(async () => {
    await agent?.close().catch(() => undefined);
    await browser?.close();
    await gw?.stop();
  });

  it('#17.16 shows bidi and tag characters of the arguments escaped and marked, with a warning', async () => {
    await page
      .getByRole('navigation', { name: 'Dashboard' })
      .getByRole('link', { name: 'Approvals' })
      .click();
    void agent
      .callTool({ name: 'echo', arguments: { text: 'pay', payee: PAYEE, password: PASSWORD } })
      .catch(() => undefined);
    const card = page.locator('article.approval', { hasText: 'echo' });
    await card.waitFor(WAIT);
    const shown = (await card.locator('pre').textContent()) ?? '';
    // What a person reads: every hidden character as an escape, none of them applied.
    expect(shown).toContain('billing@example.com\\u{202E}moc.live\\u{E0041}\\u{200B}');
    expect(shown).not.toContain(RLO);
    expect(shown).not.toMatch(/[\u200B]|\uDB40/);
    expect(await card.locator('mark.hidden-char').count()).toBe(3);
    const warning = card.locator('[data-hidden-characters]');
    await expect.poll(() => warning.textContent(), WAIT).toContain('/payee (U+202E U+E0041 U+200B)');
    expect(await warning.getAttribute('role')).toBe('alert');
    // The page's own text (what a screen reader or copy would take) has no hidden character either.
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).not.toContain(RLO);
    // #17.14: the password is masked on the page.
    expect(shown).not.toContain(PASSWORD);
    expect(shown).toContain('"password": "[REDACTED]"');
    expect(pageErrors).toEqual([]);
  });

  it('#17.16 shows ordinary arguments without a warning or marks', async () => {
    void agent.callTool({ name: 'echo', arguments: { text: 'Zoë café 東京' } }).catch(() => undefined);
    const card = page.locator('article.approval', { hasText: 'Zoë café' });
    await card.waitFor(WAIT);
    expect(await card.locator('mark.hidden-char').count()).toBe(0);
    expect(await card.locator('[data-hidden-characters]').count()).toBe(0);
  });

  it('#17.16 shows a hidden character in an audit record (an argument name) escaped on the audit page', async () => {
    await agent.callTool({ name: 'pid', arguments: { [`amount${RLO}`]: 1 } });
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Audit' }).click();
    const detail = page.locator('aside.detail pre');
    // The newest echo record first; its detail names the argument with the character escaped.
    // The pid records in turn until one names the argument, escaped.
    const named = async () => {
      const rows = page.locator('table.audit tbody tr', { hasText: 'pid' });
      for (let i = 0; i < (await rows.count()); i++) {
        await rows.nth(i).getByRole('button').click();
        const text = (await detail.textContent()) ?? '';
        if (text.includes('amount')) return text;
      }
      return '';
    };
    await expect.poll(named, WAIT).toContain('amount\\u{202E}');
    expect(await detail.textContent()).not.toContain(RLO);
  });
});
