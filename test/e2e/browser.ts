import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AxeBuilder } from '@axe-core/playwright';
import { expect } from '@jest/globals';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { createApp } from '../../src/http/app.ts';
import { eventually } from '../support/eventually.ts';
import { type GatewayOptions, openGateway, type OpenGateway } from '../support/harness.ts';

/**
 * The real app on a real socket (the browser needs a URL), with the harness's Postgres and fake Vonage,
 * and Debian's Chromium. A context plays the SSO proxy by adding identity headers to every request.
 */
export const SCREENSHOTS = 'test/e2e/screenshots';

export interface Stage {
  url: string;
  parts: OpenGateway;
  browser: Browser;
  /**
   * Console errors, page errors and failed requests of every page so far. A refusal from /v1 that a flow
   * provokes on purpose (a 403, a 409) is the API answering, which the page shows; anything else is a fault.
   */
  browserErrors: string[];
  as(
    headers: Record<string, string>,
    viewport?: { width: number; height: number },
  ): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

/** `refreshEstate`: discover the fake's accounts first, as the job does at start (an estate of one's own). */
export async function startStage(options: GatewayOptions & { refreshEstate?: boolean } = {}): Promise<Stage> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const parts = await openGateway({ rateLimits: { readsPerMinute: 10_000, writesPerMinute: 10_000 }, ...options });
  if (options.refreshEstate) await parts.gateway.refreshEstate();
  const server: Server = createServer(createApp(parts.gateway.app));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const contexts: BrowserContext[] = [];
  const browserErrors: string[] = [];
  const watch = (page: Page) => {
    page.on('pageerror', (error) => browserErrors.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => {
      // A download handed to the browser, or a page navigating away, is not a failure.
      if (request.failure()?.errorText !== 'net::ERR_ABORTED') browserErrors.push(`failed: ${request.url()}`);
    });
    page.on('console', (message) => {
      const from = message.location().url;
      const apiRefusal = message.text().startsWith('Failed to load resource') && from.startsWith(`${url}/v1/`);
      if (message.type() === 'error' && !apiRefusal) browserErrors.push(`console: ${message.text()} (${from})`);
    });
    return page;
  };
  return {
    url,
    parts,
    browser,
    browserErrors,
    async as(headers, viewport = { width: 1200, height: 900 }) {
      const context = await browser.newContext({ extraHTTPHeaders: headers, acceptDownloads: true, viewport });
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
      contexts.push(context);
      return { context, page: watch(await context.newPage()) };
    },
    async close() {
      for (const context of contexts) await context.close();
      await browser.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await parts.close();
    },
  };
}

/** No serious or critical accessibility violation on the page as it stands. */
export async function expectAccessible(page: Page): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const severe = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(severe.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`)).toEqual([]);
}

export const shot = (page: Page, name: string) =>
  page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });

/** Waits on a condition the page reaches by itself (a re-render), never for a fixed time. */
export const until = (condition: () => Promise<boolean>, what: string, timeoutMs = 5_000) =>
  eventually(condition, { what, timeoutMs, everyMs: 25 });

export const visible = (locator: Locator) => locator.first().waitFor({ state: 'visible' });

export async function hasCount(locator: Locator, count: number): Promise<void> {
  await until(async () => (await locator.count()) === count, `${count} of ${locator}`).catch(async (error: Error) => {
    throw new Error(`${error.message}; found ${await locator.count()}`);
  });
}
