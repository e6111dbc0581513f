// #19.6 The Flows page in a real headless Chromium against the built gateway: real calls through server-filesystem
// and the mail fixture first (a send, a private read, a refused send), then the page shows the conversation's labels in
// the order they entered it and the refused call with its rule and why.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';
import { type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { connect, FILESYSTEM, ROOT, tempDir, textOf } from '../helpers/gateway.js';

const WAIT = { timeout: 10_000 };
const ADMIN = 'dashboard-flows-admin-token';
const ARTIFACTS = join(ROOT, 'test-artifacts/dashboard');
const MAIL = join(ROOT, 'test/fixtures/mail-server.ts');
const available = chromiumAvailable('dashboard flows e2e');

let gw: ServeProcess;
let browser: Browser;
let page: Page;
let agent: Client;
const pageErrors: string[] = [];

describe.skipIf(!available)('#19.6 the Flows page in Chromium', () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const dir = tempDir('warden-dash-flows-');
    writeFileSync(join(dir, 'customer.txt'), 'Jane Roe, jane@example.com');
    process.env.WARDEN_ADMIN_TOKEN = ADMIN;
    gw = await serveCli(
      writeConfig(`
mcpServers:
  fs:
    command: node
    args: ["${FILESYSTEM}", "${dir}"]
  mail:
    command: node
    args: ["--import", "tsx", "${MAIL}"]
    env: { MAIL_OUTBOX: "${join(dir, 'outbox.jsonl')}" }
    cwd: ${ROOT}
flows:
  derive: false
  labels:
    private: ["fs/read_*"]
    external: ["mail/send_*"]
  rules:
    - after: private
      deny: external
      reason: "Private data stays inside"
storage: sqlite:${join(dir, 'warden.db')}
`),
    );
    agent = await connect(gw.mcpUrl);
    const send = (body: string) =>
      agent.callTool({ name: 'mail__send_email', arguments: { to: 'someone@outside.test', body } });
    expect((await send('hello')).isError).not.toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(
      textOf(
        await agent.callTool({ name: 'fs__read_text_file', arguments: { path: join(dir, 'customer.txt') } }),
      ),
    ).toContain('Jane Roe');
    const refused = await send('Jane Roe');
    expect(textOf(refused)).toBe('[POLICY DENIED] Private data stays inside');
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
  }, 60_000);

  afterAll(async () => {
    await agent?.close().catch(() => undefined);
    await browser?.close();
    await gw?.stop();
  });

  it("#19.6.5 shows the conversation's labels in the order they came, and the refused call with rule and reason", async () => {
    await page.goto(gw.adminUrl);
    await page.getByLabel('Admin token').fill(ADMIN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    // Before log-in the page's first API call is answered 401, by design; from here on nothing may fail.
    pageErrors.length = 0;
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Flows' }).click();
    await page.getByRole('heading', { name: 'Data flows' }).waitFor();
    // Anonymous traffic is one conversation: its labels, first sighting first (the send came before the read).
    const conversation = page.locator('[data-conversation="anonymous"]');
    await conversation.waitFor(WAIT);
    const rows = conversation.locator('tbody tr');
    await expect.poll(() => rows.count(), WAIT).toBe(2);
    expect(await rows.nth(0).locator('td').nth(1).textContent()).toBe('external');
    expect(await rows.nth(0).locator('td').nth(2).textContent()).toBe('mail/send_email');
    expect(await rows.nth(1).locator('td').nth(1).textContent()).toBe('private');
    expect(await rows.nth(1).locator('td').nth(2).textContent()).toBe('fs/read_text_file');
    // The refused call: which rule, what the conversation had seen, what the tool is, and the reason the agent read.
    const decided = page.locator('[data-flow-rule="/flows/rules/0"]');
    await expect.poll(() => decided.count(), WAIT).toBe(1);
    const text = (await decided.textContent()) ?? '';
    expect(text).toContain('mail/send_email');
    expect(text).toContain('/flows/rules/0 deny');
    expect(text).toContain('seen external, private; tool is external');
    expect(text).toContain('Private data stays inside');
    // The page shows labels and rules only: never what the read returned.
    expect(await page.locator('main').textContent()).not.toContain('Jane Roe');
    await page.screenshot({ path: join(ARTIFACTS, 'flows.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
