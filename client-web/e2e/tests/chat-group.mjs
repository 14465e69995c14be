// The owner creates a public group; another user finds it in the directory and joins; both
// see the join line and each other's messages; the phone layout shows one column with a back
// button.
import assert from 'node:assert/strict';

import { message, secondUser, send, waitUntil } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'chat: create a public group, find it in the directory, join, talk';
export const needs = 'node';

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(`owner: ${e}`));
  await page.setViewportSize({ width: 1200, height: 800 });
  await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const other = await secondUser(page, baseUrl);
  const po = other.page;
  po.on('pageerror', (e) => errors.push(`other: ${e}`));
  try {
    const handle = `grp_${Math.random().toString(36).slice(2, 8)}`;
    const groupName = `Crabs ${handle}`;

    // The owner creates a public group.
    await page.getByTestId('new-group').click();
    const form = page.getByTestId('create-group-form');
    await form.waitFor();
    await page.getByTestId('group-name').fill(groupName);
    await page.getByTestId('group-description').fill('All about crabs.');
    await page.getByTestId('group-public').check();
    await page.getByTestId('group-handle').fill(handle);
    await page.getByTestId('group-create').click();
    await page.getByTestId('chat-view').waitFor();
    assert.equal((await page.getByTestId('chat-header-title').textContent())?.trim(), groupName);
    await page.locator('[data-testid=event-line][data-kind="group.create"]').waitFor();

    // The other user finds it in the directory and joins.
    await po.getByTestId('nav-directory').click();
    await po.getByTestId('directory-search').fill(handle);
    const entry = po.locator(`[data-testid=directory-entry][data-handle^="#${handle}:"]`);
    await entry.waitFor();
    assert.match((await entry.textContent()) ?? '', /1 member/);
    await entry.getByTestId('directory-join').click();
    await po.getByTestId('chat-view').waitFor();
    assert.equal((await po.getByTestId('chat-header-title').textContent())?.trim(), groupName);

    // The owner sees the join line; they talk.
    await page.locator('[data-testid=event-line][data-kind="member.join"]').waitFor();
    assert.match((await page.locator('[data-testid=event-line][data-kind="member.join"]').textContent()) ?? '', new RegExp(`${other.displayName} joined`));
    await send(po, 'Hi crabs!');
    await message(page, 'Hi crabs!').waitFor();
    assert.equal((await message(page, 'Hi crabs!').getByTestId('message-sender').textContent())?.trim(), other.displayName);
    await send(page, 'Welcome!');
    await message(po, 'Welcome!').waitFor();
    // "Seen by" on the owner's last message once the other has read it.
    await waitUntil(page, () => /Seen by 1/.test(document.querySelector('[data-testid=seen-by]')?.textContent ?? ''), 'seen by 1');

    // The directory now says joined.
    await po.getByTestId('nav-directory').click();
    await po.getByTestId('directory-search').fill(handle);
    await entry.waitFor();
    await waitUntil(po, () => document.querySelector('[data-testid=directory-join]')?.textContent?.trim() === 'Open', 'directory shows Open');

    // Phone width: one column; the chat has a back button to the list.
    await po.setViewportSize({ width: 375, height: 740 });
    await entry.getByTestId('directory-join').click();
    await po.getByTestId('chat-view').waitFor();
    assert.equal(await po.getByTestId('chat-list').isVisible(), false);
    await po.getByTestId('back').click();
    await po.getByTestId('chat-list').waitFor({ state: 'visible' });
    const overflow = await po.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the chat list is ${overflow}px wider than a phone screen`);

    assert.deepEqual(errors, []);
  } finally {
    await other.context.close();
  }
}
