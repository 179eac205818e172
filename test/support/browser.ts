/**
 * A headless Chromium page for a UI test: Debian's package (never a downloaded browser), a
 * default wait long enough for a page kept current by events (and shorter than the UIs' 30 s
 * fallback refresh, so a pass means the events arrived), and a record of the page's errors
 * and dialogs, which a test expects to stay empty.
 */
import { existsSync } from 'fs';
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
/** Waits for the page, not for the UI's 30 s fallback refresh: a pass means events arrived. */
export const PAGE_WAIT_MS = 20_000;

export interface TestPage {
  browser: Browser;
  page: Page;
  /** Uncaught errors in the page. */
  pageErrors: string[];
  /** alert/confirm/prompt messages (dismissed): the UIs ask in the page, never by dialog. */
  dialogs: string[];
}

export async function openPage(): Promise<TestPage> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run node scripts/setup.js (it installs the Debian package chromium)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
  const page = await browser.newPage();
  page.setDefaultTimeout(PAGE_WAIT_MS);
  const t: TestPage = { browser, page, pageErrors: [], dialogs: [] };
  page.on('pageerror', (e) => t.pageErrors.push(e.message));
  page.on('dialog', (d) => { t.dialogs.push(d.message()); void d.dismiss(); });
  return t;
}
