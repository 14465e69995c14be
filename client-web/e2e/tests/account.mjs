// Against a real node: register, land in the app shell (name shown, "connected"), reload and
// still be signed in (the refresh cookie), edit the profile over the gateway, log out, log in
// again. No page error and no Content-Security-Policy violation on the way.
import assert from 'node:assert/strict';

import { connectionState, register, waitForConnection, waitForName } from './support.mjs';

export const name = 'register, reload signed in, edit profile, log out, log in';
export const needs = 'node';

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) errors.push(m.text());
  });
  await page.setViewportSize({ width: 375, height: 740 });

  const { username, password, displayName } = await register(page, baseUrl);
  assert.equal(new URL(page.url()).pathname, '/');
  await waitForName(page, displayName);
  await waitForConnection(page, 'connected');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the signed-in shell is ${overflow}px wider than a phone screen`);

  // A reload keeps the user signed in: no form, same name, connected again.
  await page.reload();
  await page.getByTestId('user-name').waitFor();
  await waitForName(page, displayName);
  await waitForConnection(page, 'connected');
  assert.equal(await page.getByTestId('login-form').count(), 0);

  // Edit the profile (gateway `profile.update`): the navbar follows, and so does a reload.
  await page.getByTestId('account-menu').click();
  await page.getByTestId('nav-profile').click();
  const form = page.getByTestId('profile-form');
  await form.waitFor();
  await page.waitForFunction(
    () => /** @type {HTMLInputElement | null} */ (document.querySelector('[data-testid=profile-form] input[name=display_name]'))?.value !== '',
  );
  const renamed = `${displayName} Jr.`;
  await form.locator('input[name=display_name]').fill(renamed);
  await form.locator('textarea[name=bio]').fill('Testing WiniChat.');
  await page.getByTestId('profile-save').click();
  await page.getByTestId('form-success').waitFor();
  assert.equal((await page.getByTestId('user-name').textContent())?.trim(), renamed);
  await page.reload();
  await waitForName(page, renamed);
  assert.equal(await form.locator('textarea[name=bio]').inputValue(), 'Testing WiniChat.');
  const finalName = renamed;

  // Log out: back to the login page, and a reload does not sign in again.
  await page.getByTestId('account-menu').click();
  await page.getByTestId('logout').click();
  await page.getByTestId('login-form').waitFor();
  await page.reload();
  await page.getByTestId('login-form').waitFor();
  assert.equal(await page.getByTestId('user-name').count(), 0);

  // Log in again.
  await page.locator('[data-testid=login-form] input[name=username]').fill(username);
  await page.locator('[data-testid=login-form] input[name=password]').fill(password);
  await page.getByTestId('login-submit').click();
  await waitForName(page, finalName);
  await waitForConnection(page, 'connected');
  assert.equal(await connectionState(page), 'connected');

  assert.deepEqual(errors, []);
}
