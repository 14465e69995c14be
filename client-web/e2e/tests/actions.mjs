// Message and chat actions: a message forwarded to another chat shows "Forwarded from" there
// for the other member; delete asks in the app's own dialog (never window.confirm); several
// messages selected are deleted together; a muted chat shows its icon, also after a reload.
import assert from 'node:assert/strict';

import { message, openDm, secondUser, send, waitUntil } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'chat actions: forward, delete in a dialog, multi-select delete, mute';
export const needs = 'node';

/**
 * Opens the chat whose list entry has the title `title`.
 * @param {import('playwright-core').Page} page
 * @param {string} title
 */
async function openChat(page, title) {
  const item = chatItem(page, title);
  await item.waitFor();
  await item.click();
  await page.waitForFunction((t) => document.querySelector('[data-testid=chat-header-title]')?.textContent?.trim() === t, title);
}

/**
 * @param {import('playwright-core').Page} page
 * @param {string} title
 */
function chatItem(page, title) {
  return page.locator('[data-testid=chat-item]', { has: page.locator('[data-testid=chat-title]', { hasText: title }) });
}

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(`a: ${e}`));
  // The app's dialog, never the browser's.
  page.on('dialog', (d) => {
    errors.push(`a: a browser dialog opened: ${d.message()}`);
    void d.dismiss();
  });
  await page.setViewportSize({ width: 1200, height: 800 });
  const a = await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const b = await secondUser(page, baseUrl);
  const c = await secondUser(page, baseUrl);
  b.page.on('pageerror', (e) => errors.push(`b: ${e}`));
  c.page.on('pageerror', (e) => errors.push(`c: ${e}`));
  try {
    // b writes to a; a has a chat with c too.
    await openDm(b.page, a.username);
    await send(b.page, 'news from b');
    await openDm(page, c.username);
    await send(page, 'hi c');
    await openChat(c.page, a.displayName);
    await message(c.page, 'hi c').waitFor();

    // a forwards b's message to c, from the message's context menu.
    await openChat(page, b.displayName);
    await message(page, 'news from b').click({ button: 'right' });
    await page.getByTestId('message-menu').waitFor();
    await page.getByTestId('action-forward').click();
    const dialog = page.getByTestId('forward-dialog');
    await dialog.waitFor();
    await page.getByTestId('forward-search').fill(c.displayName);
    await page.locator('[data-testid=forward-target]', { hasText: c.displayName }).click();
    await dialog.waitFor({ state: 'hidden' });
    // The app shows the chat it went to; c sees who wrote it.
    await page.waitForFunction((t) => document.querySelector('[data-testid=chat-header-title]')?.textContent?.trim() === t, c.displayName);
    const forwarded = message(c.page, 'news from b');
    await forwarded.waitFor();
    assert.equal((await forwarded.getByTestId('forwarded-from').textContent())?.trim(), `Forwarded from ${b.displayName}`);

    // Delete asks in the app's dialog; Cancel keeps the message, Delete removes it.
    await send(page, 'delete me');
    await message(page, 'delete me').click({ button: 'right' });
    await page.getByTestId('action-delete').click();
    const confirm = page.getByTestId('confirm-dialog');
    await confirm.waitFor();
    await page.getByTestId('confirm-cancel').click();
    await confirm.waitFor({ state: 'hidden' });
    await message(page, 'delete me').waitFor();
    await message(page, 'delete me').click({ button: 'right' });
    await page.getByTestId('action-delete').click();
    await confirm.waitFor();
    await page.getByTestId('confirm-ok').click();
    await waitUntil(page, () => document.querySelectorAll('[data-testid=message-deleted]').length === 1, 'one message deleted');
    await waitUntil(c.page, () => document.querySelectorAll('[data-testid=message-deleted]').length === 1, 'c sees it deleted');

    // Select two messages and delete them together.
    await send(page, 'multi one');
    await send(page, 'multi two');
    await message(page, 'multi one').click({ button: 'right' });
    await page.getByTestId('action-select').click();
    await page.getByTestId('selection-bar').waitFor();
    await message(page, 'multi two').click();
    assert.equal((await page.getByTestId('selection-count').textContent())?.trim(), '2 selected');
    await page.getByTestId('selection-delete').click();
    await confirm.waitFor();
    assert.match((await confirm.textContent()) ?? '', /Delete these 2 messages/);
    await page.getByTestId('confirm-ok').click();
    await page.getByTestId('selection-bar').waitFor({ state: 'hidden' });
    await waitUntil(page, () => document.querySelectorAll('[data-testid=message-deleted]').length === 3, 'three messages deleted');
    await waitUntil(c.page, () => document.querySelectorAll('[data-testid=message-deleted]').length === 3, 'c sees three deleted');

    // Mute the chat with c for an hour from the chat list's menu: the icon shows, and stays
    // after a reload (the node keeps it).
    const item = chatItem(page, c.displayName);
    await item.click({ button: 'right' });
    await page.getByTestId('chat-menu').waitFor();
    await page.getByTestId('chat-action-mute-1h').click();
    await page.getByTestId('chat-menu').waitFor({ state: 'hidden' });
    await item.getByTestId('muted-icon').waitFor();
    assert.equal(await chatItem(page, b.displayName).getByTestId('muted-icon').count(), 0);
    await page.reload();
    await waitForConnection(page, 'connected');
    await chatItem(page, c.displayName).getByTestId('muted-icon').waitFor();
    assert.equal(await chatItem(page, c.displayName).getAttribute('data-muted'), 'true');

    assert.deepEqual(errors, []);
  } finally {
    await b.context.close();
    await c.context.close();
  }
}
