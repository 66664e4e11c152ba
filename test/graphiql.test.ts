// GraphiQL in a real browser (Debian's Chromium), with every request watched:
// the page must work with nothing but this server.
import { chromium, type Browser } from 'playwright-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { graphiqlAssetsLoaded } from '../src/http/graphiql.js';
import { testApp } from './support/app.js';
import { createTeam } from './support/fixtures.js';
import { leftover } from './support/leftovers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('GraphiQL', () => {
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    base = await testApp().app.start(0);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    leftover('Chromium', () => browser.close());
  });

  test('its assets are loaded when GraphiQL is first asked for, not by API calls', async () => {
    const api = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    expect((await api.json()).data).toEqual({ __typename: 'Query' });
    expect(graphiqlAssetsLoaded()).toBe(false);
    const css = await fetch(`${base}/graphiql-assets/graphiql.css`);
    expect([css.status, css.headers.get('content-type'), css.headers.get('cache-control')]).toEqual([200, 'text/css; charset=utf-8', 'public, max-age=86400']);
    expect(Number(css.headers.get('content-length'))).toBe((await css.arrayBuffer()).byteLength);
    expect(graphiqlAssetsLoaded()).toBe(true);
    expect((await fetch(`${base}/graphiql-assets/unknown.js`)).status).not.toBe(200);
  });

  test('renders offline and runs a typed query with the headers typed in', async () => {
    const t = await createTeam();
    const page = await browser.newPage();
    // GraphiQL's page is about 9 MB: on a busy machine loading and rendering it takes a while.
    page.setDefaultTimeout(90_000);
    const requested: string[] = [];
    // Every request is recorded; anything not served by this server is refused.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      requested.push(url);
      return url.startsWith(base) || url.startsWith('blob:') || url.startsWith('data:') ? route.continue() : route.abort();
    });
    await page.goto(`${base}/graphql`);
    await page.locator('.graphiql-container').first().waitFor();

    const query = page.locator('.graphiql-query-editor .monaco-editor').first();
    await query.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText('query { viewer { role team { slug } } }');

    await page.getByText('Headers', { exact: true }).click();
    const headers = page.locator('.graphiql-editor-tool .monaco-editor').last();
    await headers.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${t.keys.read}` }));

    await page.locator('.graphiql-execute-button').click();
    const response = page.locator('.graphiql-response');
    await expect.poll(() => response.innerText(), { timeout: 90_000 }).toContain(t.team.slug);
    const text = (await response.innerText()).replace(/\s+/g, ' ');
    expect(text).toContain('"role": "AGENT"');
    expect(requested.filter((url) => !url.startsWith(base) && !url.startsWith('blob:') && !url.startsWith('data:'))).toEqual([]);
    await page.close();
  });
});
