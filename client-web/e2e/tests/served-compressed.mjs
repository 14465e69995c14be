// The node serves the built app's scripts, styles and page as the build's brotli copies, marked
// `Vary: accept-encoding`, so a first visit moves a fraction of the bytes it would uncompressed.
import assert from 'node:assert/strict';

export const name = 'the node serves the web app precompressed';
export const needs = 'node';

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  /** @type {import('playwright-core').Response[]} */
  const responses = [];
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (url.origin === baseUrl && (url.pathname === '/login' || /\.(js|css)$/.test(url.pathname))) responses.push(response);
  });
  await page.goto(`${baseUrl}/login`);
  await page.getByTestId('login-form').waitFor();
  await page.waitForLoadState('networkidle');

  assert.ok(responses.some((r) => r.url().endsWith('.js')), 'the app loaded its scripts');
  let transferred = 0;
  let decoded = 0;
  for (const response of responses) {
    const headers = await response.allHeaders();
    const url = new URL(response.url()).pathname;
    const body = (await response.body()).length;
    // The build leaves files under 1 KiB as they are (vite-plugins/precompress.ts).
    if (body >= 1024) assert.equal(headers['content-encoding'], 'br', `${url} (${body} bytes) is served with brotli`);
    assert.equal(headers['vary'], 'accept-encoding', `${url} says it varies by encoding`);
    const sizes = await response.request().sizes();
    transferred += sizes.responseBodySize;
    decoded += body;
  }
  assert.ok(transferred * 2 < decoded, `brotli at least halves the first visit (${transferred} of ${decoded} bytes)`);
  console.log(`    first visit: ${(transferred / 1024).toFixed(0)} KiB over the wire for ${(decoded / 1024).toFixed(0)} KiB of page, scripts and styles`);
}
