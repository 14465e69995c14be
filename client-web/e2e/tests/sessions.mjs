// Against a real node: a second device signs in; the first sees two sessions, signs the other
// out, and the other device is sent to the login page by itself (gateway close 4003). Then the
// password is changed.
import assert from 'node:assert/strict';

import { register, waitForConnection } from './support.mjs';

export const name = 'sessions: list, sign out another device live, change password';
export const needs = 'node';

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  const { username, password } = await register(page, baseUrl);
  await waitForConnection(page, 'connected');

  const browser = page.context().browser();
  assert.ok(browser);
  const other = await browser.newContext();
  try {
    const phone = await other.newPage();
    await phone.goto(`${baseUrl}/login`);
    await phone.locator('[data-testid=login-form] input[name=username]').fill(username);
    await phone.locator('[data-testid=login-form] input[name=password]').fill(password);
    await phone.getByTestId('login-submit').click();
    await waitForConnection(phone, 'connected');

    await page.goto(`${baseUrl}/settings/sessions`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=session]').length === 2);
    await page.getByTestId('revoke-others').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=session]').length === 1);

    // The other device learns it was signed out without reloading.
    await phone.getByTestId('login-form').waitFor({ timeout: 15_000 });
    await phone.getByTestId('notice').waitFor();
  } finally {
    await other.close();
  }

  // Change the password, then log in with the new one.
  await page.goto(`${baseUrl}/settings/password`);
  const form = page.getByTestId('password-form');
  await form.locator('input[name=current_password]').fill(password);
  await form.locator('input[name=new_password]').fill(`${password} v2`);
  await form.locator('input[name=confirm]').fill(`${password} v2`);
  await page.getByTestId('password-submit').click();
  await page.getByTestId('form-success').waitFor();
  await waitForConnection(page, 'connected');
}
