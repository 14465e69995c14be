// Queued sends survive a reload and are delivered exactly once after it.
// 1. Offline (the WebSocket cut, HTTP up): a message is queued with a clock, kept in IndexedDB;
//    the page is reloaded while still offline; when the link comes back it goes out, with the
//    txn it got before the reload, and arrives once.
// 2. The node commits a message but its answer is lost: after a reload the page sends it again
//    with the same txn, the node answers with the first result, and it is there once.
import assert from 'node:assert/strict';

import { message, openDm, secondUser, send, waitUntil } from './chat-support.mjs';
import { controlLink, keptOutbox } from './link-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'send: a message queued offline survives a reload and arrives once; a lost answer is resent with the same txn';
export const needs = 'node';

/**
 * @param {import('playwright-core').Page} page
 * @param {string} text
 */
async function waitKept(page, text) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const kept = await keptOutbox(page);
    const found = kept.find((e) => e.text === text);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`"${text}" was not kept in IndexedDB: ${JSON.stringify(kept)}`);
    await page.waitForTimeout(100);
  }
}

/**
 * Exactly one committed message with `text` on `page`, once things settle.
 * @param {import('playwright-core').Page} page
 * @param {string} text
 */
async function exactlyOnce(page, text) {
  await message(page, text).waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1_000);
  assert.equal(await message(page, text).count(), 1, `"${text}" shown once`);
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
    await send(page, 'hello first');
    await bo.page.getByTestId('chat-item').first().click();
    await message(bo.page, 'hello first').waitFor();

    // 1. Offline: queued with a clock, kept, and the page reloaded while still offline.
    await link.down();
    await waitForConnection(page, 'reconnecting');
    const box = page.getByTestId('composer');
    await box.fill('queued offline');
    await box.press('Enter');
    const bubble = page.locator('[data-testid=pending-message]', { hasText: 'queued offline' });
    await bubble.getByTestId('pending-clock').waitFor();
    const before = await waitKept(page, 'queued offline');
    await page.reload();
    await page.getByTestId('user-name').waitFor();
    const after = await waitKept(page, 'queued offline');
    assert.equal(after.txn, before.txn, 'kept with its txn across the reload');
    assert.equal(link.posts.filter((p) => p.text === 'queued offline').length, 0, 'nothing went out while offline');

    link.up();
    await waitForConnection(page, 'connected', 45_000);
    await exactlyOnce(bo.page, 'queued offline');
    await exactlyOnce(page, 'queued offline');
    const sentOffline = link.posts.filter((p) => p.text === 'queued offline');
    assert.ok(sentOffline.length >= 1 && sentOffline.every((p) => p.txn === before.txn), `sent with the txn it got offline: ${JSON.stringify(sentOffline)}`);
    await waitUntil(page, () => document.querySelectorAll('[data-testid=pending-message]').length === 0, 'nothing left pending');
    assert.deepEqual(await keptOutbox(page), [], 'nothing kept once delivered');

    // 2. The node commits, the answer is lost, the page is reloaded: resent with the same txn.
    link.dropPostAcks(true);
    await box.fill('answer lost');
    await box.press('Enter');
    await message(bo.page, 'answer lost').waitFor({ timeout: 15_000 });
    const lost = await waitKept(page, 'answer lost');
    link.dropPostAcks(false);
    await page.reload();
    await page.getByTestId('user-name').waitFor();
    await waitForConnection(page, 'connected', 30_000);
    await waitUntil(page, () => document.querySelectorAll('[data-testid=pending-message]').length === 0, 'the resent message is acknowledged', undefined, 30_000);
    const sentLost = link.posts.filter((p) => p.text === 'answer lost');
    assert.ok(sentLost.length >= 2, `sent again after the reload: ${JSON.stringify(sentLost)}`);
    assert.ok(
      sentLost.every((p) => p.txn === lost.txn),
      `every attempt carried the same txn: ${JSON.stringify(sentLost)}`,
    );
    await exactlyOnce(page, 'answer lost');
    await exactlyOnce(bo.page, 'answer lost');
    assert.deepEqual(await keptOutbox(page), []);
  } finally {
    await bo.context.close();
  }
}
