// A send the node refuses (a refusal that sending again as it is cannot fix) is shown as failed
// with Retry and Delete: Retry sends it (once it can go) and Delete drops it for good.
import assert from 'node:assert/strict';

import { message, openDm, secondUser, send, waitUntil } from './chat-support.mjs';
import { controlLink, keptOutbox } from './link-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'send: a refused message shows Failed with Retry and Delete, and both work';
export const needs = 'node';

/**
 * @param {import('playwright-core').Page} page
 * @param {string} text
 */
function pending(page, text) {
  return page.locator('[data-testid=pending-message]', { hasText: text });
}

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  await page.setViewportSize({ width: 1200, height: 800 });
  const link = await controlLink(page.context());
  await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const bo = await secondUser(page, baseUrl);
  try {
    await openDm(page, bo.username);
    await send(page, 'before the refusals');
    await bo.page.getByTestId('chat-item').first().click();
    await message(bo.page, 'before the refusals').waitFor();
    const box = page.getByTestId('composer');

    // Refused, then retried once the node would take it.
    link.refusePosts('forbidden');
    await box.fill('retry me');
    await box.press('Enter');
    const retried = pending(page, 'retry me');
    await page.locator('[data-testid=pending-message][data-state=failed]', { hasText: 'retry me' }).waitFor();
    assert.match((await retried.getByTestId('pending-status').textContent()) ?? '', /Not sent: Refused by the test link\./);
    assert.equal(await retried.getByTestId('pending-clock').count(), 0, 'a failed message has no clock');
    await retried.getByTestId('pending-delete').waitFor();
    // Still failed after waiting: it is not retried by itself.
    await page.waitForTimeout(1_000);
    assert.equal(link.posts.filter((p) => p.text === 'retry me').length, 1);
    // Kept as failed (with Retry and Delete after a reload too).
    const kept = (await keptOutbox(page)).map((e) => [e.text, e.state]);
    assert.deepEqual(kept, [['retry me', 'failed']]);

    link.refusePosts(null);
    await retried.getByTestId('pending-retry').click();
    await message(page, 'retry me').waitFor({ timeout: 15_000 });
    await message(bo.page, 'retry me').waitFor({ timeout: 15_000 });
    const attempts = link.posts.filter((p) => p.text === 'retry me');
    assert.equal(new Set(attempts.map((p) => p.txn)).size, 1, 'Retry sends the same txn');
    await page.waitForTimeout(500);
    assert.equal(await message(bo.page, 'retry me').count(), 1);
    assert.equal(await pending(page, 'retry me').count(), 0);

    // Refused, then deleted: it never arrives, and nothing of it is kept.
    link.refusePosts('forbidden');
    await box.fill('delete me');
    await box.press('Enter');
    const deleted = pending(page, 'delete me');
    await deleted.getByTestId('pending-retry').waitFor();
    await deleted.getByTestId('pending-delete').click();
    await waitUntil(page, () => ![...document.querySelectorAll('[data-testid=pending-message]')].some((e) => e.textContent?.includes('delete me')), 'the deleted message is gone');
    link.refusePosts(null);
    await send(page, 'after the delete');
    await message(bo.page, 'after the delete').waitFor({ timeout: 15_000 });
    assert.equal(await message(bo.page, 'delete me').count(), 0, 'the deleted message never arrived');
    assert.equal(await message(page, 'delete me').count(), 0);
    assert.equal(link.posts.filter((p) => p.text === 'delete me').length, 1, 'Delete sends nothing');
    await waitUntil(page, () => document.querySelectorAll('[data-testid=pending-message]').length === 0, 'nothing left pending');
    assert.deepEqual(await keptOutbox(page), []);
  } finally {
    await bo.context.close();
  }
}
