// The real browser of the dashboard tests: Debian's Chromium driven by playwright-core (it cannot download one here).
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.WARDEN_TEST_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Whether a browser suite can run: yes when Chromium is installed. Without it the suite is skipped with a visible
 * warning, except in CI (CI=true), where the file fails instead of passing by skipping.
 */
export function chromiumAvailable(suite: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true')
    throw new Error(`CI=true but ${CHROMIUM} is missing: apt-get install -y chromium`);
  console.warn(`${suite} skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
  return false;
}

/** Headless Chromium with the flags this closed network needs (no background connections, no sandbox as root). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}
