// Emoji come from the bundled font on every system (this machine has no colour emoji font, so
// a system-drawn emoji would be an empty box): an emoji in a message and in the picker is drawn
// in colour. The picker's data loads only when it opens; its search finds an emoji by name,
// Recent shows it after use; any emoji from the picker is a reaction the other member sees.
import assert from 'node:assert/strict';

import { message, openDm, secondUser, send, waitUntil } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'chat: emoji drawn from the bundled font in messages, picker and reactions; picker search, recent, any reaction';
export const needs = 'node';

/**
 * How many clearly coloured pixels the element's screenshot holds, and how many distinct colours
 * they have (an empty box or a monochrome glyph has none).
 * @param {import('playwright-core').Locator} locator
 */
async function colours(locator) {
  const png = await locator.screenshot();
  return locator.page().evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2d context');
    ctx.drawImage(img, 0, 0);
    const { data } = ctx.getImageData(0, 0, img.width, img.height);
    let coloured = 0;
    const distinct = new Set();
    for (let i = 0; i < data.length; i += 4) {
      const r = data[i] ?? 0;
      const g = data[i + 1] ?? 0;
      const b = data[i + 2] ?? 0;
      if (Math.max(r, g, b) - Math.min(r, g, b) < 80) continue;
      coloured++;
      distinct.add(`${r >> 5},${g >> 5},${b >> 5}`);
    }
    return { coloured, distinct: distinct.size, size: `${img.width}x${img.height}` };
  }, png.toString('base64'));
}

/**
 * @param {import('playwright-core').Locator} locator
 * @param {string} what
 */
async function assertColourful(locator, what) {
  const c = await colours(locator);
  assert.ok(c.coloured >= 20 && c.distinct >= 2, `${what} is drawn in colour (${JSON.stringify(c)})`);
}

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  /** @type {string[]} */
  const errors = [];
  /** @type {string[]} */
  const requests = [];
  page.on('pageerror', (e) => errors.push(`A: ${e}`));
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  await page.setViewportSize({ width: 1200, height: 800 });
  await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const bo = await secondUser(page, baseUrl);
  const pb = bo.page;
  pb.on('pageerror', (e) => errors.push(`B: ${e}`));
  try {
    await openDm(page, bo.username);

    // An emoji in a message is drawn by the bundled font, in colour.
    await send(page, 'Dinner 🦀 tonight');
    const inText = message(page, 'Dinner 🦀 tonight').getByTestId('emoji');
    assert.equal(await inText.textContent(), '🦀');
    await waitUntil(page, () => document.fonts.check('16px "WiniChat Emoji Whole"', '🦀') && document.fonts.status === 'loaded', 'the emoji font is loaded');
    assert.ok(requests.some((p) => /\/assets\/twemoji-[^/]+\.woff2$/.test(p)), 'the font came from the app');
    await assertColourful(inText, 'the 🦀 in the message');

    // The picker's data is a separate chunk, fetched when it first opens.
    const emojiData = (/** @type {string} */ p) => /\/assets\/(data|EmojiPanel)-[^/]+\.js$/.test(p);
    assert.equal(requests.filter(emojiData).length, 0, 'no emoji data before the picker opens');
    await page.getByTestId('emoji-toggle').click();
    const picker = page.getByTestId('emoji-picker');
    await picker.getByTestId('emoji-tab').first().waitFor();
    assert.ok(requests.some((p) => /\/assets\/data-[^/]+\.js$/.test(p)), 'the emoji data loaded when the picker opened');
    // Nothing used yet: the first category shows, with categories to switch between.
    assert.ok((await picker.getByTestId('emoji-tab').count()) >= 9, 'the categories');
    const grinning = picker.locator('[data-testid=emoji-option][data-emoji="😀"]');
    await grinning.waitFor();
    await assertColourful(grinning, 'the 😀 in the picker');
    await picker.locator('[data-testid=emoji-tab][data-group="3"]').click();
    await picker.locator('[data-testid=emoji-grid][data-section="3"] [data-emoji="🐻"]').waitFor();

    // Search by name finds the octopus; picking it puts it in the box.
    await picker.getByTestId('emoji-search').fill('octop');
    const octopus = picker.locator('[data-testid=emoji-grid][data-section=search] [data-testid=emoji-option][data-emoji="🐙"]');
    await octopus.waitFor();
    assert.equal(await octopus.getAttribute('aria-label'), 'octopus');
    await octopus.click();
    await picker.waitFor({ state: 'detached' });
    assert.equal(await page.getByTestId('composer').inputValue(), '🐙');
    await page.getByTestId('composer').press('Enter');
    await message(page, '🐙').waitFor();
    // A message of one emoji shows it large.
    assert.ok(parseFloat(await message(page, '🐙').getByTestId('message-text').evaluate((el) => getComputedStyle(el).fontSize)) >= 30, 'a lone emoji is large');

    // Reopened, the picker starts on Recent, which shows the octopus.
    await page.getByTestId('emoji-toggle').click();
    await picker.locator('[data-testid=emoji-grid][data-section=recent] [data-emoji="🐙"]').waitFor();
    assert.equal(await picker.getByTestId('emoji-tab-recent').getAttribute('aria-selected'), 'true');
    await page.keyboard.press('Escape');
    await picker.waitFor({ state: 'detached' });
    // …also after a reload (kept in localStorage).
    await page.reload();
    await waitForConnection(page, 'connected');
    await page.getByTestId('emoji-toggle').click();
    await picker.locator('[data-testid=emoji-grid][data-section=recent] [data-emoji="🐙"]').waitFor();
    await page.keyboard.press('Escape');

    // Bo reacts to Ana's message with an emoji that is not among the quick reactions.
    await pb.getByTestId('chat-item').first().click();
    const onB = message(pb, 'Dinner 🦀 tonight');
    await onB.waitFor();
    await onB.hover();
    await onB.getByTestId('message-actions').click();
    assert.equal(await onB.locator('[data-testid=action-react][data-emoji="🦑"]').count(), 0, '🦑 is not a quick reaction');
    await onB.getByTestId('action-react-more').click();
    await onB.getByTestId('emoji-search').fill('squid');
    await onB.locator('[data-testid=emoji-option][data-emoji="🦑"]').click();
    await onB.getByTestId('message-menu').waitFor({ state: 'detached' });
    await onB.locator('[data-testid=reaction][data-emoji="🦑"]').waitFor();

    // Ana sees it live, drawn in colour.
    const chip = message(page, 'Dinner 🦀 tonight').locator('[data-testid=reaction][data-emoji="🦑"]');
    await chip.waitFor();
    assert.equal((await chip.getByTestId('reaction-count').textContent())?.trim(), '1');
    assert.equal(await chip.getAttribute('title'), bo.displayName);
    await assertColourful(chip.locator('.emoji'), 'the 🦑 reaction');

    assert.deepEqual(errors, []);
  } finally {
    await bo.context.close();
  }
}
