// Search against a real node: a message posted in one direct chat is found from another chat
// with Ctrl+K (the match highlighted in the snippet, as text); clicking the result opens that
// chat scrolled to the message, which is highlighted for a moment. "Search in this chat" finds
// only that chat's messages. People are found by a middle word of their display name.
import assert from 'node:assert/strict';

import { message, openDm, secondUser, send, waitUntil } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'search: a message of another chat found and opened in context; people by a middle word';
export const needs = 'node';

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(`${e}`));
  await page.setViewportSize({ width: 1200, height: 800 });
  await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const bob = await secondUser(page, baseUrl);
  const carol = await secondUser(page, baseUrl);
  try {
    const word = `zephyr${Math.random().toString(36).slice(2, 7)}`;
    const target = `The ${word} <b>arrives</b> at noon`;

    // A chat with bob holding the message, buried under enough others to need scrolling.
    await openDm(page, bob.username);
    await send(page, target);
    for (let i = 0; i < 40; i++) await send(page, `filler ${i}`);
    // Another chat, where the search starts.
    await openDm(page, carol.username);
    await send(page, `hello carol, not about ${word.slice(0, 3)}x`);

    // Ctrl+K, type the start of the word: the result names the chat and marks the match.
    await page.keyboard.press('Control+k');
    const input = page.getByTestId('message-search-input');
    await input.waitFor();
    await input.fill(word.slice(0, 8));
    const result = page.getByTestId('message-search-result');
    await result.first().waitFor();
    assert.equal(await result.count(), 1, 'only the message with the word');
    assert.match((await result.getByTestId('message-search-chat').textContent()) ?? '', new RegExp(bob.displayName));
    const snippet = result.getByTestId('message-search-snippet');
    assert.equal((await snippet.textContent())?.trim(), target, 'the snippet is the text, HTML shown as text');
    assert.equal(await snippet.locator('b').count(), 0, 'no markup from the message');
    assert.equal((await snippet.getByTestId('search-mark').textContent())?.trim(), word.slice(0, 8));

    // Clicking it opens bob's chat scrolled to the message, highlighted.
    await result.click();
    await page.getByTestId('message-search').waitFor({ state: 'hidden' });
    const found = message(page, target);
    await found.waitFor();
    await waitUntil(page, () => document.querySelector('[data-testid=message][data-highlighted]') !== null, 'the message is highlighted');
    assert.equal(await found.getAttribute('data-highlighted'), 'true');
    const inView = await found.evaluate((el) => {
      const list = document.querySelector('[data-testid=message-list]');
      if (!list) return false;
      const a = el.getBoundingClientRect();
      const b = list.getBoundingClientRect();
      return a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
    });
    assert.ok(inView, 'the message is inside the visible part of the list');
    assert.equal(await page.getByTestId('chat-header-title').textContent(), bob.displayName);
    await waitUntil(page, () => document.querySelector('[data-testid=message][data-highlighted]') === null, 'the highlight fades');

    // Search in this chat (carol's) does not find bob's message; in bob's it does.
    await page.locator('[data-testid=chat-item]', { hasText: carol.displayName }).click();
    await page.getByTestId('search-in-chat').click();
    await input.waitFor();
    await input.fill(word);
    await page.getByTestId('message-search-empty').waitFor();
    await page.getByTestId('message-search-everywhere').click();
    await result.first().waitFor();
    assert.equal(await result.count(), 1);
    await page.keyboard.press('Escape');
    await page.getByTestId('message-search').waitFor({ state: 'hidden' });

    // People: bob's display name is "Tester <suffix>"; give carol a three-word name and find
    // her by its middle word.
    const middle = `Quill${Math.random().toString(36).slice(2, 6)}`;
    await carol.page.goto(`${baseUrl}/settings/profile`);
    const nameField = carol.page.locator('input[name=display_name]');
    await nameField.waitFor();
    await nameField.fill(`Ada ${middle} Lovelace`);
    await carol.page.getByTestId('profile-save').click();
    await carol.page.getByTestId('form-success').waitFor();
    await page.getByTestId('new-dm').click();
    await page.getByTestId('user-search').fill(middle.toLowerCase());
    const person = page.getByTestId('user-result');
    await person.first().waitFor();
    assert.equal(await person.count(), 1);
    assert.match((await person.textContent()) ?? '', new RegExp(`Ada ${middle} Lovelace`));

    assert.deepEqual(errors, []);
  } finally {
    await bob.context.close();
    await carol.context.close();
  }
}
