import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { asCaller, MASTER_KEY, SUB_KEY } from '../support/harness.ts';
import { expectAccessible, hasCount, shot, type Stage, startStage, until, visible } from './browser.ts';

/** The console's flows for engineers, readers and reviewers, in real Chromium against the real app. */
const adminReviewer = asCaller('ops@example.com', 'platform-admins,security-reviewers', 'ops');
const reader = asCaller('reader@example.com', 'team-payments');
const reviewer = asCaller('reviewer@example.com', 'security-reviewers');
const newcomer = asCaller('newcomer@example.com', 'interns');

let stage: Stage;
beforeAll(async () => {
  stage = await startStage();
}, 60_000);
afterEach(() => {
  const errors = stage.browserErrors.splice(0);
  expect(errors).toEqual([]);
});
afterAll(async () => {
  await stage.close();
});

/** Opens the account's row on the accounts page (one is open at a time) and returns its panel. */
async function account(page: import('playwright-core').Page, apiKey: string) {
  const panel = page.getByRole('region', { name: `Account ${apiKey}` });
  if ((await panel.count()) === 0) await page.getByRole('button', { name: new RegExp(`^Open .*${apiKey}$`) }).click();
  await visible(panel);
  return panel;
}

describe('the console', () => {
  test('when an admin creates a generated secret, then it is shown once, it can be revoked, and the audit shows both attempts', async () => {
    const { page } = await stage.as(adminReviewer);
    await page.goto(`${stage.url}/console/`);
    const card = await account(page, MASTER_KEY);
    await hasCount(card.getByRole('row'), 2);
    await expectAccessible(page);

    await card.getByRole('button', { name: 'Create a secret' }).click();
    await card.getByRole('button', { name: 'Create', exact: true }).click();
    const value = await card.getByLabel('Secret value').inputValue();
    await card.getByRole('button', { name: 'Copy' }).click();
    await visible(card.getByRole('status').filter({ hasText: 'Copied' }));
    expect(value).toMatch(/^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{24}$/);
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(value);
    await visible(card.getByText('It will not be shown again'));
    await shot(page, '1-secret-created');
    await card.getByRole('button', { name: 'Done' }).click();
    await hasCount(card.getByText(value), 0);
    await hasCount(card.getByRole('row'), 3);

    const newest = stage.parts.vonage.secretsOf(MASTER_KEY).at(-1)?.id ?? '';
    await card.getByRole('button', { name: `Revoke ${newest}` }).click();
    await card.getByLabel(/to revoke this secret/).fill(newest.slice(0, 8));
    await card.getByRole('button', { name: 'Revoke', exact: true }).click();
    await hasCount(card.getByRole('row'), 2);
    await visible(card.getByRole('status').filter({ hasText: `Secret ${newest} revoked.` }));

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Actor email').fill('ops@example.com');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const rows = page.getByRole('table', { name: /Audit events/ }).getByRole('row');
    await hasCount(rows.filter({ hasText: 'secret.revoke' }), 1);
    await hasCount(rows.filter({ hasText: 'secret.create' }), 1);
    await expectAccessible(page);
    await shot(page, '1-audit-after-create-and-revoke');
  });

  test('when a reader opens the console, then create and revoke are disabled with the reason', async () => {
    const { page } = await stage.as(reader);
    await page.goto(`${stage.url}/console/`);
    const card = await account(page, SUB_KEY);

    expect(await card.getByRole('button', { name: 'Create a secret' }).isDisabled()).toBe(true);
    await visible(card.getByText(`needs secrets:create on ${SUB_KEY}`));
    expect(
      await card
        .getByRole('button', { name: /^Revoke/ })
        .first()
        .isDisabled(),
    ).toBe(true);
    await visible(card.getByText(`needs secrets:revoke on ${SUB_KEY}`).first());
    await hasCount(page.getByRole('link', { name: 'Audit log' }), 0);
    await expectAccessible(page);
    await shot(page, '2-reader');
  });

  test('when a third secret is asked for, then Vonage\'s "maximum 2 secrets" refusal is shown in words', async () => {
    const { page } = await stage.as(adminReviewer);
    await page.goto(`${stage.url}/console/`);
    const card = await account(page, SUB_KEY);
    await card.getByRole('button', { name: 'Create a secret' }).click();
    await card.getByRole('button', { name: 'Create', exact: true }).click();
    await card.getByRole('button', { name: 'Done' }).click();
    await visible(card.getByText('Vonage will refuse a third'));

    await card.getByRole('button', { name: 'Create a secret' }).click();
    await card.getByRole('button', { name: 'Create', exact: true }).click();

    await visible(card.getByRole('alert'));
    expect(await card.getByRole('alert').first().textContent()).toMatch(/maximum number \[2\] of allowed secrets/);
    await expectAccessible(page);
    await shot(page, '3-third-secret-refused');
  });

  test('when a reviewer filters by actor and time and downloads CSV, then the file holds exactly that set and the chain is intact', async () => {
    const { page } = await stage.as(reviewer);
    await page.goto(`${stage.url}/console/#/audit`);
    await visible(page.getByRole('status').filter({ hasText: 'Chain intact' }));
    await page.getByLabel('Actor email').fill('ops@example.com');
    await page.getByLabel('From').fill('1h');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/#\/audit\?actor=ops%40example\.com&since=1h/);
    const rows = page.getByRole('table', { name: /Audit events/ }).getByRole('row');
    // The filtered page has replaced the unfiltered one once every event row is the actor's.
    const eventRows = rows.filter({ hasText: /secret\.|rotation\./ });
    await until(async () => {
      const count = await eventRows.count();
      return count > 0 && count === (await eventRows.filter({ hasText: 'ops@example.com' }).count());
    }, 'the filtered audit page');
    const shown = await eventRows.count();

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'CSV' }).click(),
    ]);
    const csv = readFileSync((await download.path()) ?? '', 'utf8')
      .trim()
      .split('\r\n');

    expect(download.suggestedFilename()).toMatch(/^audit-events-.+\.csv$/);
    expect(csv.length - 1).toBe(shown);
    for (const line of csv.slice(1)) expect(line).toContain(',ops@example.com,');
    await page.getByRole('button', { name: /^Show/ }).first().click();
    await visible(page.getByText('Request id'));
    await expectAccessible(page);
    await shot(page, '4-reviewer-audit');
  });

  test('when a caller with no grants opens the console, then an empty state says whom to ask', async () => {
    const { page } = await stage.as(newcomer);
    await page.goto(`${stage.url}/console/`);

    await visible(page.getByRole('heading', { name: 'You have no access to any Vonage account yet' }));
    await visible(page.getByText('Ask the platform team'));
    await hasCount(page.getByRole('alert'), 0);
    await expectAccessible(page);
    await shot(page, '5-no-grants');
  });

  test('when an admin rotates with the wizard, then the new secret is shown once, completing leaves only it, and the steps are audited', async () => {
    const { page } = await stage.as(adminReviewer);
    await page.goto(`${stage.url}/console/`);
    const card = await account(page, MASTER_KEY);
    const [before] = stage.parts.vonage.secretsOf(MASTER_KEY);

    await expect(card.getByLabel('Secret to retire').inputValue()).resolves.toBe(before?.id);
    await card.getByRole('button', { name: 'Rotate', exact: true }).click();
    await visible(card.getByRole('heading', { name: /Rotation in progress/ }));
    const value = await card.getByLabel('New secret value').inputValue();
    expect(value).toMatch(/^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{24}$/);
    await card.getByRole('button', { name: 'Copy' }).click();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(value);
    await visible(card.getByRole('row').filter({ hasText: before?.id }).getByText('retiring (rotation)'));
    await visible(card.getByText('new (rotation)'));
    expect(await card.getByRole('button', { name: `Revoke ${before?.id}` }).isDisabled()).toBe(true);
    await expectAccessible(page);
    await shot(page, '6-rotation-awaiting-cutover');
    await card.getByRole('button', { name: 'Consumers switched: complete' }).click();
    // Completing revokes the old secret, so it is confirmed like any revoke: by typing the start of its id.
    const complete = card.getByRole('button', { name: 'Complete', exact: true });
    expect(await complete.isDisabled()).toBe(true);
    await card.getByLabel(/to complete the rotation/).fill(before?.id.slice(0, 8) ?? '');
    await complete.click();
    await hasCount(card.getByRole('heading', { name: /Rotation in progress/ }), 0);

    const after = stage.parts.vonage.secretsOf(MASTER_KEY);
    expect(after).toHaveLength(1);
    expect(after[0]?.id).not.toBe(before?.id);
    await hasCount(card.getByRole('row'), 2);
    const steps = await stage.parts.gateway.app.db
      .selectFrom('audit_events')
      .select('action')
      .where('api_key', '=', MASTER_KEY)
      .where('rotation_id', 'is not', null)
      .orderBy('id')
      .execute();
    expect(steps.map((s) => s.action)).toEqual(['secret.create', 'secret.test', 'secret.revoke']);
    await visible(card.getByRole('status').filter({ hasText: 'Rotation completed' }));
    await card.getByText(/Rotation history/).click();
    await visible(card.getByRole('table', { name: /Past rotations/ }).getByText('completed'));

    // The other account has 2 secrets: its form says what discarding one means, and that it is brand new.
    const discard = (await account(page, SUB_KEY)).locator('label.discard');
    await visible(discard.getByText(/cancelling the rotation later will not bring it back/));
    await visible(discard.getByText(/It was created \d+ minutes ago/));
  });

  test('when a reviewer opens a link with a bad filter, then the page says which field and why, with no retry button', async () => {
    const { page } = await stage.as(reviewer);
    await page.goto(`${stage.url}/console/#/audit?since=last-tuesday`);

    const failure = page.getByRole('alert').filter({ hasText: 'The audit filter is not valid.' });
    await visible(failure);
    await visible(failure.getByText(/since is not a time/));
    await hasCount(failure.getByRole('button', { name: 'Try again' }), 0);
    await expectAccessible(page);
  });

  test('when someone without audit:read opens a shared #/audit link, then the page says why the audit log is not shown', async () => {
    const { page } = await stage.as(reader);
    await page.goto(`${stage.url}/console/#/audit`);

    await visible(page.getByRole('status').filter({ hasText: 'The audit log needs the audit:read action' }));
    await hasCount(page.getByRole('link', { name: 'Audit log' }), 0);
    await expectAccessible(page);
  });
});
