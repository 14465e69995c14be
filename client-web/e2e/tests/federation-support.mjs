// Helpers for the two-node browser tests (not a test: it exports no `run`).
import assert from 'node:assert/strict';

import { waitUntil } from './chat-support.mjs';

/**
 * Creates a public group with `handle` from the chat list and waits for its chat view.
 * @param {import('playwright-core').Page} page
 * @param {string} groupName
 * @param {string} handle  the name part, without `#` or node
 */
export async function createPublicGroup(page, groupName, handle) {
  await page.getByTestId('new-group').click();
  await page.getByTestId('create-group-form').waitFor();
  await page.getByTestId('group-name').fill(groupName);
  await page.getByTestId('group-public').check();
  await page.getByTestId('group-handle').fill(handle);
  await page.getByTestId('group-create').click();
  await page.getByTestId('chat-view').waitFor();
  // Another chat may be open already: wait for this one's header.
  await waitUntil(page, (/** @type {string} */ n) => document.querySelector('[data-testid=chat-header-title]')?.textContent?.trim() === n, `the chat view of ${groupName}`, groupName);
}

/**
 * Finds `fullHandle` (`#name:node`) in the directory and returns its entry (not joined yet).
 * @param {import('playwright-core').Page} page
 * @param {string} fullHandle
 */
export async function findInDirectory(page, fullHandle) {
  await page.getByTestId('nav-directory').click();
  await page.getByTestId('directory-search').fill(fullHandle);
  const entry = page.locator(`[data-testid=directory-entry][data-handle="${fullHandle}"]`);
  await entry.waitFor();
  return entry;
}

/**
 * The text of the node badge inside `scope` (which must have exactly one).
 * @param {import('playwright-core').Locator} scope
 */
export async function badgeText(scope) {
  return (await scope.getByTestId('node-badge').textContent())?.trim();
}

/**
 * Asserts that no spinner is showing in the page (a loading indicator of daisyUI).
 * @param {import('playwright-core').Page} page
 * @param {string} where  for the failure message
 */
export async function assertNoSpinner(page, where) {
  const spinning = await page.locator('.loading:visible').count();
  assert.equal(spinning, 0, `a spinner still shows ${where}`);
}
