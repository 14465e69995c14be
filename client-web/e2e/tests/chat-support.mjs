// Helpers for the chat tests (not a test: it exports no `run`; run.mjs skips *-support.mjs).
import { register, waitForConnection } from './support.mjs';

/**
 * Registers a user in a fresh browser context of the same browser, at desktop width.
 * @param {import('playwright-core').Page} page  any page of the test (for its browser)
 * @param {string} baseUrl
 */
export async function secondUser(page, baseUrl) {
  const browser = page.context().browser();
  if (!browser) throw new Error('no browser');
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const other = await context.newPage();
  const user = await register(other, baseUrl);
  await waitForConnection(other, 'connected');
  return { page: other, context, ...user };
}

/**
 * Opens a DM with `username` through the new-message dialog.
 * @param {import('playwright-core').Page} page
 * @param {string} username
 */
export async function openDm(page, username) {
  await page.getByTestId('new-dm').click();
  await page.getByTestId('user-search').fill(username);
  await page.getByTestId('user-result').first().waitFor();
  await page.getByTestId('user-result').first().click();
  await page.getByTestId('chat-view').waitFor();
  await page.getByTestId('composer').waitFor();
}

/**
 * Types and sends a message with Enter.
 * @param {import('playwright-core').Page} page
 * @param {string} text
 */
export async function send(page, text) {
  const box = page.getByTestId('composer');
  await box.click();
  await box.fill(text);
  await box.press('Enter');
  await message(page, text).waitFor();
}

/**
 * The message bubble whose text is exactly `text`.
 * @param {import('playwright-core').Page} page
 * @param {string} text
 */
export function message(page, text) {
  return page.locator('[data-testid=message]', { has: page.locator('[data-testid=message-text]', { hasText: new RegExp(`^${escape(text)}$`) }) });
}

/** @param {string} s */
function escape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Waits for a condition in the page, with a readable failure.
 * @param {import('playwright-core').Page} page
 * @param {(arg: any) => unknown} fn
 * @param {string} what
 * @param {unknown} [arg]
 */
export async function waitUntil(page, fn, what, arg, timeout = 15_000) {
  try {
    await page.waitForFunction(fn, arg, { timeout });
  } catch {
    throw new Error(`timed out waiting for: ${what}`);
  }
}
