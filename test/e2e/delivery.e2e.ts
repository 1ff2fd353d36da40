import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { sql } from 'kysely';
import { parseAllDocuments } from 'yaml';
import { consumerManifests, esoClient } from '../support/eso-client.ts';
import { asCaller } from '../support/harness.ts';
import { expectAccessible, hasCount, shot, type Stage, startStage, visible } from './browser.ts';

/** The Delivery panel: register a consumer, apply what it prints, let ESO deliver, and see it rotate alone. */
const ops = asCaller('ops@example.com', 'platform-admins', 'ops');
const API_KEY = 'ship0001';

let stage: Stage;
beforeAll(async () => {
  stage = await startStage({ subAccounts: [API_KEY] });
}, 60_000);
afterEach(() => {
  expect(stage.browserErrors.splice(0)).toEqual([]);
});
afterAll(async () => {
  await stage.close();
});

describe('the Delivery panel', () => {
  test('when an admin registers a consumer and ESO delivers, then the token was shown once, the manifests hold no token, and the account rotates alone', async () => {
    const { page } = await stage.as(ops);
    await page.goto(`${stage.url}/console/`);
    await page.getByRole('button', { name: new RegExp(`^Open .*${API_KEY}$`) }).click();
    const card = page.getByRole('region', { name: `Account ${API_KEY}` });
    const panel = card.getByRole('region', { name: 'Delivery to workloads' });
    await visible(panel.getByLabel('Consumer name'));
    await expectAccessible(page);

    await panel.getByLabel('Consumer name').fill('payments-api');
    await panel.getByRole('button', { name: 'Register consumer' }).click();
    const token = await panel.getByLabel('Delivery token').inputValue();
    const manifest = await panel.getByLabel(/Manifests for payments-api/).inputValue();
    await panel.getByRole('button', { name: 'Copy' }).click();
    await visible(panel.getByRole('status').filter({ hasText: 'Copied' }));
    await shot(page, '10-delivery-registered');

    expect(token).toMatch(/^vsgd_[A-Za-z0-9_-]{43}$/);
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(token);
    expect(manifest).not.toContain(token);
    expect(parseAllDocuments(manifest).map((doc) => doc.toJS())).toEqual(consumerManifests('payments-api'));

    const eso = esoClient('payments-api', token, stage.url);
    expect((await eso.refresh()).status).toBe(200);
    await panel.getByRole('button', { name: 'Done' }).click();
    await hasCount(panel.getByLabel('Delivery token'), 0);
    await page.reload();
    await visible(panel.getByText('Secrets of this account rotate automatically'));
    await visible(panel.getByText('Last delivery'));
    const delivered = eso.target().data.secret_id ?? '';
    await visible(card.getByText('delivered to payments-api'));
    await visible(card.getByText(/delivered to payments-api: its next delivery retires/));
    expect(await card.getByRole('button', { name: `Revoke ${delivered}` }).isDisabled()).toBe(true);
    await hasCount(card.getByRole('button', { name: /Consumers switched/ }), 0);
    await expectAccessible(page);
    await shot(page, '11-delivery-panel');

    // 32 days without a delivery: past the 30-day interval plus a day's grace.
    await sql`update consumers set last_delivery_at = now() - interval '32 days' where name = 'payments-api'`.execute(
      stage.parts.gateway.app.db,
    );
    await page.reload();
    await visible(panel.locator('.overdue').filter({ hasText: 'overdue' }));

    await sql`update consumers set token_expires_at = now() - interval '1 day' where name = 'payments-api'`.execute(
      stage.parts.gateway.app.db,
    );
    await page.reload();
    await visible(panel.getByText("payments-api's token has expired"));
    await panel.getByRole('button', { name: 'Re-issue token' }).click();
    const reissued = await panel.getByLabel('Delivery token').inputValue();
    expect(reissued).toMatch(/^vsgd_/);
    expect(reissued).not.toBe(token);
    expect((await esoClient('payments-api', token, stage.url).refresh()).status).toBe(401);
    await panel.getByRole('button', { name: 'Done' }).click();

    await panel.getByRole('button', { name: 'Revoke token' }).click();
    await panel.getByRole('button', { name: 'Revoke token' }).click();
    await visible(card.getByText('Delivery to payments-api is off: its token no longer works.'));
    await visible(panel.getByRole('button', { name: 'Register consumer' }));
    await visible(panel.getByText('Earlier consumers: payments-api (revoked).'));
    // Delivery off: its open rotation is a person's to finish now, so the wizard offers complete and cancel.
    await visible(card.getByRole('heading', { name: /Rotation in progress: awaiting cutover/ }));
    await visible(card.getByRole('button', { name: 'Cancel rotation' }));
    await expectAccessible(page);
  });
});
