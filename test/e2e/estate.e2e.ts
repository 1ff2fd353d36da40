import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import type { Page } from 'playwright-core';
import { sandboxEstate } from '../../src/dev/sandbox-estate.ts';
import { asCaller } from '../support/harness.ts';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-db.ts';
import { expectAccessible, hasCount, shot, type Stage, startStage, until, visible } from './browser.ts';

/** The console at estate scale: the 500-account sandbox `npm run dev -- --accounts 500` starts. */
const POLICY = `
grants:
  - group: platform-admins
    accounts: ["*"]
    actions: [secrets:read, secrets:create, secrets:revoke]
  - group: security-reviewers
    actions: [audit:read]
`;
const ops = asCaller('ops@example.com', 'platform-admins,security-reviewers', 'ops');

let scratch: ScratchDatabase;
let stage: Stage;
beforeAll(async () => {
  // Its own database: the stage discovers its 500 accounts, which every gateway on a database reads.
  scratch = await createScratchDatabase('e2e_estate');
  stage = await startStage({
    databaseUrl: scratch.gatewayUrl,
    subAccounts: sandboxEstate(500),
    policy: POLICY,
    refreshEstate: true,
  });
}, 120_000);
afterEach(() => {
  expect(stage.browserErrors.splice(0)).toEqual([]);
});
afterAll(async () => {
  await stage.close();
  await scratch.drop();
});

/** Every /v1 request the page makes from now on. */
const apiCalls = (page: Page) => {
  const calls: string[] = [];
  page.on('request', (request) => {
    const { pathname } = new URL(request.url());
    if (pathname.startsWith('/v1/')) calls.push(pathname);
  });
  return calls;
};

const rows = (page: Page) => page.getByRole('table', { name: /Accounts, page/ }).locator('tbody > tr');

describe('the accounts page at 500 accounts', () => {
  test('when an admin opens the console, then one page of accounts loads in at most 3 /v1 calls, and a search finds one', async () => {
    const { page } = await stage.as(ops);
    const calls = apiCalls(page);

    await page.goto(`${stage.url}/console/`);
    await hasCount(rows(page), 25);
    expect(calls.length).toBeLessThanOrEqual(3);
    expect(calls).toEqual(['/v1/me', '/v1/accounts']);
    await expectAccessible(page);
    await shot(page, '7-accounts-500');

    await page.getByLabel('Search').fill('verify-apac-staging');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=verify-apac-staging/);
    const names = rows(page).locator('th .name');
    // The unfiltered page, then "loading", then the results: wait for a table of only the matches.
    const matches = (found: string[]) =>
      found.length > 0 && found.every((name) => name.startsWith('verify-apac-staging'));
    await until(async () => matches(await names.allTextContents()), 'the search results');
    expect((await names.allTextContents()).length).toBeLessThan(25);

    await page
      .getByRole('button', { name: /^Open verify-apac-staging / })
      .first()
      .click();
    await visible(page.getByRole('region', { name: /Account s\d+ \(verify-apac-staging/ }).getByRole('table'));
    await page.getByRole('button', { name: 'Next page' }).isDisabled();
  });

  test('when the overdue filter is set, then only overdue accounts show, each marked', async () => {
    const { page } = await stage.as(ops);
    await page.goto(`${stage.url}/console/#/accounts?overdue=true`);

    await hasCount(rows(page), 25);
    expect(await rows(page).filter({ hasNotText: 'overdue' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Next page' }).click();
    await until(async () => (await page.getByRole('table', { name: 'Accounts, page 2' }).count()) === 1, 'page 2');
  });

  test('when a reviewer opens the secret-age report, then overdue accounts come first, each linking to its account', async () => {
    const { page } = await stage.as(ops);
    const calls = apiCalls(page);
    await page.goto(`${stage.url}/console/#/secret-age`);

    const report = page.getByRole('table', { name: /oldest secret, overdue first/ });
    await hasCount(report.locator('tbody > tr'), 50);
    expect(calls).toEqual(['/v1/me', '/v1/reports/secret-age']);
    await visible(report.locator('tbody > tr').first().getByText('overdue'));
    await visible(page.getByRole('link', { name: 'Download CSV' }));
    await expectAccessible(page);
    await shot(page, '8-secret-age-report');
    await page.getByRole('button', { name: /^Show all \d+ accounts$/ }).click();
    await hasCount(report.locator('tbody > tr'), stage.parts.gateway.app.policy.accounts.list().length);

    await report.locator('tbody > tr').first().getByRole('link').click();
    await visible(page.getByRole('region', { name: /^Account s\d+/ }).getByRole('table'));
  });

  test('when the console is opened at phone width, then nothing overflows sideways', async () => {
    const { page } = await stage.as(ops, { width: 390, height: 844 });
    await page.goto(`${stage.url}/console/`);
    await hasCount(rows(page), 25);
    await page
      .getByRole('button', { name: /^Open / })
      .first()
      .click();
    await visible(page.getByRole('region', { name: /^Account / }).getByRole('table'));

    const overflow = await page.evaluate(`(() => {
      const wide = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > innerWidth + 1);
      return { by: document.documentElement.scrollWidth - innerWidth, wide: wide.slice(0, 5).map((e) => e.outerHTML.slice(0, 80)) };
    })()`);

    expect(overflow).toEqual({ by: 0, wide: [] });
    await expectAccessible(page);
    await page.screenshot({ path: 'test/e2e/screenshots/9-phone-390.png' });
  });
});
