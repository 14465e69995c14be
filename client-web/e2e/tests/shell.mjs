// The app shell renders: navbar brand, the login page (nobody is signed in) with a node status,
// the theme toggle works and is remembered across a reload, and nothing overflows at phone width.
import assert from 'node:assert/strict';

export const name = 'app shell renders and toggles the theme';

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  await page.setViewportSize({ width: 375, height: 700 });
  await page.goto(`${baseUrl}/`);
  await page.getByTestId('brand').waitFor();
  assert.equal(await page.getByTestId('brand').textContent(), 'WiniChat');

  // Nobody is signed in: the guard sends `/` to the login page.
  await page.getByTestId('login-form').waitFor();
  assert.equal(new URL(page.url()).pathname, '/login');

  // Under `vite preview` there is no node behind /healthz: any settled status will do here.
  const status = page.getByTestId('node-status');
  await page.waitForFunction(() => document.querySelector('[data-testid=node-status]')?.getAttribute('data-status') !== 'checking');
  assert.ok(['ok', 'unavailable', 'unreachable'].includes((await status.getAttribute('data-status')) ?? ''));

  const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
  const before = await theme();
  await page.getByTestId('theme-toggle').click();
  const after = await theme();
  assert.notEqual(after, before);
  await page.reload();
  await page.getByTestId('brand').waitFor();
  assert.equal(await theme(), after, 'theme remembered across a reload');

  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than a phone screen`);

  // An unknown client route falls back to the app (and, signed out, to its login page).
  await page.goto(`${baseUrl}/no/such/page`);
  await page.getByTestId('login-form').waitFor();

  // The register page is reachable from the keyboard-usable link.
  await page.getByTestId('to-register').click();
  await page.getByTestId('register-form').waitFor();

  assert.deepEqual(errors, []);
}
