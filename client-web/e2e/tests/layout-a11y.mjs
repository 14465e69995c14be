// Accessibility: axe-core (WCAG 2.1 A/AA rules) finds no serious or critical violation on the
// main screens — login, chat list with an open group chat (own and others' bubbles, a mention),
// the group panel, the directory and a profile panel — in the light and the dark theme.
import assert from 'node:assert/strict';

import { message } from './chat-support.mjs';
import { groupScene, seriousViolations, useScheme } from './layout-support.mjs';

export const name = 'layout: no serious accessibility violation on the main screens in both themes';
export const needs = 'node';

const SCHEMES = /** @type {const} */ (['light', 'dark']);

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  /** @type {string[]} */
  const found = [];
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.setViewportSize({ width: 1280, height: 800 });

  /** @param {import('playwright-core').Page} p @param {string} screen */
  async function check(p, screen) {
    for (const scheme of SCHEMES) {
      await useScheme(p, scheme);
      for (const v of await seriousViolations(p)) found.push(`[${screen}, ${scheme}] ${v}`);
    }
  }

  // Signed out: the login page, in a context of its own.
  const browser = page.context().browser();
  if (!browser) throw new Error('no browser');
  const guest = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const login = await guest.newPage();
    await login.goto(`${baseUrl}/login`);
    await login.getByTestId('login-form').waitFor();
    await check(login, 'login');
  } finally {
    await guest.close();
  }

  const { other, handle } = await groupScene(page, baseUrl);
  try {
    await check(page, 'chat list and open group chat');

    await page.getByTestId('group-info').click();
    await page.getByTestId('group-panel').waitFor();
    await check(page, 'group panel');
    await page.getByTestId('group-panel-close').click();
    await page.getByTestId('group-panel').waitFor({ state: 'detached' });

    await message(page, 'I will bring a bucket.').waitFor();
    await page.getByTestId('message-sender').first().click();
    await page.getByTestId('profile-panel').waitFor();
    await page.getByTestId('profile-name').waitFor();
    await check(page, 'profile panel');
    await page.getByTestId('profile-close').click();

    await page.getByTestId('nav-directory').click();
    await page.getByTestId('directory-search').fill(handle);
    await page.locator(`[data-testid=directory-entry][data-handle^="#${handle}:"]`).waitFor();
    await check(page, 'directory');
  } finally {
    await other.context.close();
  }

  assert.deepEqual(found, [], `axe found serious or critical violations:\n${found.join('\n')}`);
  assert.deepEqual(errors, []);
}
