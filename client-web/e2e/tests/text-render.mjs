// What people write, as the other member sees it: a link, bold, italic, inline code, a code
// block, strikethrough and a spoiler render as such; a `javascript:` link and an HTML payload stay
// plain text (no element, no handler, no dialog); the composer counts characters near the limit
// and says why Send is disabled.
import assert from 'node:assert/strict';

import { openDm, secondUser, waitUntil } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'chat: links and markdown render safely, the composer counts characters';
export const needs = 'node';

const FORMATTED = 'See https://example.org/docs?a=1, **bold** _it_ `code` ~~s~~ ||secret|| end';
const HOSTILE = 'javascript:alert(1) [x](javascript:alert(2)) <img src=x onerror="window.__pwned=1;alert(3)"> <a href="javascript:alert(4)">a</a> <script>window.__pwned=2</script>';
const BLOCK = '```js\nconst a = "<b>not bold</b>";\n```';

/**
 * Sends `text` with Enter and waits until one more message of mine is in the timeline.
 * @param {import('playwright-core').Page} page
 * @param {string} text
 */
async function sendRaw(page, text) {
  const mine = page.locator('[data-testid=message][data-mine=true]');
  const before = await mine.count();
  const box = page.getByTestId('composer');
  await box.click();
  await box.fill(text);
  await box.press('Enter');
  await waitUntil(page, (n) => document.querySelectorAll('[data-testid=message][data-mine=true]').length > n, 'the message is in the timeline', before);
}

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  /** @type {string[]} */
  const errors = [];
  /** @type {string[]} */
  const dialogs = [];
  page.on('pageerror', (e) => errors.push(`A: ${e}`));
  page.on('dialog', (d) => {
    dialogs.push(`A: ${d.message()}`);
    void d.dismiss();
  });
  await page.setViewportSize({ width: 1200, height: 800 });
  await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const bo = await secondUser(page, baseUrl);
  const pb = bo.page;
  pb.on('pageerror', (e) => errors.push(`B: ${e}`));
  pb.on('dialog', (d) => {
    dialogs.push(`B: ${d.message()}`);
    void d.dismiss();
  });
  try {
    await openDm(page, bo.username);
    await sendRaw(page, FORMATTED);
    await sendRaw(page, HOSTILE);
    await sendRaw(page, BLOCK);

    // Bo opens the chat and sees the three messages as they were meant.
    const item = pb.getByTestId('chat-item').first();
    await item.waitFor();
    await item.click();
    const texts = pb.locator('[data-testid=message] [data-testid=message-text]');
    await waitUntil(pb, () => document.querySelectorAll('[data-testid=message] [data-testid=message-text]').length >= 3, 'Bo has the three messages');
    const formatted = texts.nth(0);
    const link = formatted.locator('a');
    assert.equal(await link.count(), 1);
    assert.equal(await link.getAttribute('href'), 'https://example.org/docs?a=1');
    assert.equal(await link.getAttribute('target'), '_blank');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await link.textContent(), 'https://example.org/docs?a=1');
    assert.equal(await formatted.locator('strong').textContent(), 'bold');
    assert.equal(await formatted.locator('em').textContent(), 'it');
    assert.equal(await formatted.locator('code').textContent(), 'code');
    assert.equal(await formatted.locator('s').textContent(), 's');
    assert.equal(await formatted.evaluate((el) => getComputedStyle(el.querySelector('strong') ?? el).fontWeight), '700');
    assert.equal(await formatted.evaluate((el) => getComputedStyle(el.querySelector('s') ?? el).textDecorationLine), 'line-through');
    assert.equal(await formatted.textContent(), 'See https://example.org/docs?a=1, bold it code s secret end', 'the marks are gone, the words kept');

    // The spoiler is hidden until clicked.
    const spoiler = formatted.getByTestId('spoiler');
    assert.equal(await spoiler.getAttribute('role'), 'button');
    assert.equal(await spoiler.evaluate((el) => getComputedStyle(el.firstElementChild ?? el).visibility), 'hidden');
    await spoiler.click();
    await formatted.locator('[data-testid=spoiler][data-revealed=true]').waitFor();
    assert.equal(await formatted.locator('[data-testid=spoiler]').evaluate((el) => getComputedStyle(el).visibility), 'visible');

    // The code block keeps its text verbatim, in a monospace block.
    const block = texts.nth(2).locator('pre');
    assert.equal(await block.textContent(), 'const a = "<b>not bold</b>";');
    assert.equal(await block.getAttribute('data-lang'), 'js');
    assert.equal(await texts.nth(2).locator('b').count(), 0);
    assert.match(await block.evaluate((el) => getComputedStyle(el).fontFamily), /mono/i);

    // The hostile text is text, on both sides: no link, image, script or handler, no dialog.
    for (const { p, who } of [{ p: pb, who: 'Bo' }, { p: page, who: 'Ana' }]) {
      const hostile = p.locator('[data-testid=message] [data-testid=message-text]').nth(1);
      assert.equal(await hostile.textContent(), HOSTILE, `${who}: the payload shows as typed`);
      assert.equal(await hostile.locator('a, img, script').count(), 0, `${who}: no element from the payload`);
      const unsafe = await p.evaluate(() => ({
        handlers: document.querySelectorAll('[onerror], [onclick], [onload]').length,
        scriptLinks: [...document.querySelectorAll('a[href]')].filter((a) => !/^(https?:|mailto:|\/|#)/i.test(a.getAttribute('href') ?? '')).length,
        pwned: /** @type {any} */ (window).__pwned ?? null,
      }));
      assert.deepEqual(unsafe, { handlers: 0, scriptLinks: 0, pwned: null }, who);
    }
    // Clicking the hostile text opens nothing either.
    await pb.locator('[data-testid=message] [data-testid=message-text]').nth(1).click();
    await pb.waitForTimeout(300);
    assert.deepEqual(dialogs, [], 'no dialog opened');

    // Near the limit the composer counts; over it, Send is disabled with the reason shown.
    const box = page.getByTestId('composer');
    await box.fill('x'.repeat(3900));
    const counter = page.getByTestId('char-counter');
    await counter.waitFor();
    assert.equal((await counter.textContent())?.trim(), '196 characters left');
    assert.equal(await page.getByTestId('send').isEnabled(), true);
    await box.fill('x'.repeat(4100));
    await page.locator('[data-testid=char-counter][data-over=true]').waitFor();
    assert.match((await counter.textContent()) ?? '', /4 characters over the limit of 4,096/);
    assert.equal(await page.getByTestId('send').isDisabled(), true);
    assert.match((await page.getByTestId('send').getAttribute('title')) ?? '', /over the limit/);
    await box.fill('short again');
    await counter.waitFor({ state: 'detached' });

    assert.deepEqual(errors, []);
  } finally {
    await bo.context.close();
  }
}
