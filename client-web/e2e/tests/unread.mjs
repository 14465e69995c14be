// Unread done right. Bo writes 60 messages while Ana is elsewhere: her chat list counts them and
// shows Bo typing; the tab title and the favicon show the total. Opening the chat puts her at
// the first unread message under an "Unread messages" divider, the jump button counts the
// messages below and takes her to the newest; then everything is read. (Ana reloads before
// opening it, and 60 is more than the newest page of 50: the page around the first unread
// message is loaded to open there.)
import assert from 'node:assert/strict';

import { message, openDm, secondUser, send, waitUntil } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'unread: divider at the first unread, jump button with the count, list count and typing, tab title and favicon';
export const needs = 'node';

const COUNT = 60;

/**
 * True when the element is inside the message list's visible area.
 * @param {import('playwright-core').Locator} locator
 */
function inView(locator) {
  return locator.evaluate((el) => {
    const list = document.querySelector('[data-testid=message-list]');
    if (!list) return false;
    const a = el.getBoundingClientRect();
    const b = list.getBoundingClientRect();
    return a.bottom > b.top && a.top < b.bottom;
  });
}

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  await page.setViewportSize({ width: 1200, height: 800 });
  await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const bo = await secondUser(page, baseUrl);
  try {
    await openDm(page, bo.username);
    await send(page, 'hi Bo');
    await bo.page.getByTestId('chat-item').first().click();
    await message(bo.page, 'hi Bo').waitFor();
    for (const text of ['read 1', 'read 2']) await send(bo.page, text);
    await message(page, 'read 2').waitFor();
    await waitUntil(page, () => document.title === 'WiniChat', 'nothing unread while reading the chat');

    // Ana goes elsewhere (the chat list stays); Bo writes.
    await page.getByTestId('nav-directory').click();
    await page.waitForURL(/\/directory$/);
    const box = bo.page.getByTestId('composer');
    for (let i = 1; i <= COUNT; i++) {
      await box.fill(`unread ${i}`);
      await box.press('Enter');
    }
    await message(bo.page, `unread ${COUNT}`).waitFor({ timeout: 30_000 });

    const item = page.locator('[data-testid=chat-item]', { hasText: bo.displayName });
    await waitUntil(page, (n) => document.querySelector('[data-testid=unread-badge]')?.textContent?.trim() === String(n), `the chat list counts ${COUNT} unread`, COUNT, 30_000);
    assert.equal(await page.title(), `(${COUNT}) WiniChat`);
    const icon = await page.evaluate(() => {
      const link = document.querySelector('link[rel~="icon"]');
      return { unread: link?.getAttribute('data-unread'), href: link?.getAttribute('href') ?? '' };
    });
    assert.equal(icon.unread, String(COUNT));
    assert.match(icon.href, /^data:image\/png;base64,/);

    // After a reload the counts come from the node, and the chat's newest page no longer
    // reaches back to the first unread message.
    await page.reload();
    await waitForConnection(page, 'connected');
    await waitUntil(page, (n) => document.querySelector('[data-testid=unread-badge]')?.textContent?.trim() === String(n), 'the count after the reload', COUNT);
    await waitUntil(page, (n) => document.title === `(${n}) WiniChat`, 'the title after the reload', COUNT);

    // Bo starts typing: Ana's list says so instead of the preview. (The node drops a typing
    // signal sent within 2 s of the last one, and Bo's last send cleared the one before.)
    await bo.page.waitForTimeout(2_500);
    await box.fill('still writing');
    await item.getByTestId('chat-typing').waitFor({ timeout: 10_000 });
    assert.match((await item.getByTestId('chat-typing').textContent()) ?? '', /typing…/);

    // Opening the chat: at the first unread message, under the divider.
    await item.click();
    const divider = page.getByTestId('unread-divider');
    await divider.waitFor();
    assert.equal(await page.getByTestId('unread-divider').count(), 1);
    const around = await divider.evaluate((el) => {
      /** @param {Element | null} e @param {'previousElementSibling' | 'nextElementSibling'} dir */
      const next = (e, dir) => {
        let cur = e?.[dir] ?? null;
        while (cur && cur.getAttribute('data-testid') !== 'message') cur = cur[dir];
        return cur?.querySelector('[data-testid=message-text]')?.textContent ?? null;
      };
      return { before: next(el, 'previousElementSibling'), after: next(el, 'nextElementSibling') };
    });
    assert.deepEqual(around, { before: 'read 2', after: 'unread 1' });
    await waitUntil(page, () => {
      const d = document.querySelector('[data-testid=unread-divider]');
      const list = document.querySelector('[data-testid=message-list]');
      if (!d || !list) return false;
      const top = d.getBoundingClientRect().top - list.getBoundingClientRect().top;
      return top >= 0 && top < 80;
    }, 'the divider is at the top of the list');
    assert.ok(await inView(message(page, 'unread 1')), 'the first unread message is on screen');
    const newest = message(page, `unread ${COUNT}`);
    assert.ok((await newest.count()) === 0 || !(await inView(newest)), 'the newest is below (or not loaded yet)');
    const jump = page.getByTestId('jump-latest');
    assert.equal((await jump.getByTestId('jump-latest-count').textContent())?.trim(), String(COUNT));
    // Not read yet: the newest is not on screen.
    await page.waitForTimeout(500);
    assert.equal(await page.title(), `(${COUNT}) WiniChat`);

    await jump.click();
    await waitUntil(page, (t) => {
      const el = [...document.querySelectorAll('[data-testid=message-text]')].find((e) => e.textContent === t);
      const list = document.querySelector('[data-testid=message-list]');
      if (!el || !list) return false;
      const a = el.getBoundingClientRect();
      const b = list.getBoundingClientRect();
      return a.bottom > b.top && a.top < b.bottom;
    }, 'the newest message is on screen after the jump', `unread ${COUNT}`);
    await waitUntil(page, () => document.title === 'WiniChat', 'everything read: the title has no count', undefined, 10_000);
    await waitUntil(page, () => document.querySelector('[data-testid=unread-badge]') === null, 'no unread badge left');
    assert.equal(await page.getByTestId('jump-latest').count(), 0, 'at the end: no jump button');
    assert.equal(await page.getByTestId('unread-divider').count(), 1, 'the divider stays while the chat is open');
    assert.equal(await page.evaluate(() => document.querySelector('link[rel~="icon"]')?.getAttribute('data-unread')), '0');
  } finally {
    await bo.context.close();
  }
}
