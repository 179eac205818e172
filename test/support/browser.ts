/**
 * A headless Chromium page for a UI test: Debian's package (never a downloaded browser), a
 * default wait long enough for a page kept current by events (and shorter than the UIs' 30 s
 * fallback refresh, so a pass means the events arrived), and a record of the page's errors
 * and dialogs, which a test expects to stay empty.
 */
import { existsSync } from 'fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { MasterStateView } from '../../common/operator-types';
import { getJson, masterAddress } from '../../common/operator-client';
import { base } from './http';

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
  // The doors' certificates are signed by each test cluster's own CA, which this browser has
  // never seen: a user imports the CA once (or accepts the warning once); the tests accept it.
  const page = await browser.newPage({ ignoreHTTPSErrors: true });
  page.setDefaultTimeout(PAGE_WAIT_MS);
  const t: TestPage = { browser, page, pageErrors: [], dialogs: [] };
  page.on('pageerror', (e) => t.pageErrors.push(e.message));
  page.on('dialog', (d) => { t.dialogs.push(d.message()); void d.dismiss(); });
  return t;
}

/**
 * Signs the page in at the server `base` (https://host:port) as `principal` through its login
 * page and a login link (the secret in the URL's fragment, as `agora up` prints it), and waits
 * for the UI it leads to.
 */
export async function signIn(page: Page, base: string, identity: { principal: string; secret: string }): Promise<void> {
  const link = `principal=${encodeURIComponent(identity.principal)}&secret=${encodeURIComponent(identity.secret)}`;
  await page.goto(`${base}/login?next=${encodeURIComponent('/ui/')}#${link}`);
  await page.waitForURL((url) => url.pathname === '/ui/');
}

/**
 * A framework's UI as the master links it: `/api/v1/state` lists the framework with `name`
 * and webuiUrl `https://127.0.0.1:<port>/ui/` (http on an open cluster); the page opens there, goes live, takes `title`
 * with the `home` nav link current, and draws with the shared styles (/ui/shared/base.css)
 * and its own after them, both read.
 */
export async function expectLinkedUi(page: Page, o: { masterAddr: string; frameworkId: string; name: string; port: number; title: string; home: string }): Promise<void> {
  const state = await getJson<MasterStateView>(masterAddress(o.masterAddr), '/api/v1/state');
  const listed = state.frameworks.find((f) => f.id === o.frameworkId);
  expect(listed).toMatchObject({ name: o.name, webuiUrl: `${base(`127.0.0.1:${o.port}`)}/ui/` });
  await page.goto(listed!.webuiUrl!);
  await page.getByTestId('stream').filter({ hasText: 'live' }).waitFor();
  expect(await page.title()).toBe(o.title);
  expect(await page.getByRole('link', { name: o.home, exact: true }).getAttribute('aria-current')).toBe('page');
  const loaded = await page.evaluate('Array.from(document.styleSheets, (s) => [new URL(s.href).pathname, s.cssRules.length > 0])');
  expect(loaded).toEqual([['/ui/shared/base.css', true], ['/ui/style.css', true]]);
  expect(await page.evaluate('getComputedStyle(document.querySelector("header")).backgroundColor')).toBe('rgb(245, 246, 249)');
}
