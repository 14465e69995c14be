// Two users in two browser contexts: a direct chat both ways with unread badge, seen ticks,
// typing, a reaction, a reply; an edit (↑ in the empty composer) and a delete reach the other
// side live.
import assert from 'node:assert/strict';

import { message, openDm, secondUser, send, waitUntil } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'chat: direct messages both ways, ticks, typing, reactions, edit and delete live';
export const needs = 'node';

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(`A: ${e}`));
  page.on('dialog', (d) => void d.accept());
  await page.setViewportSize({ width: 1200, height: 800 });
  const ana = await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const bo = await secondUser(page, baseUrl);
  const pb = bo.page;
  pb.on('pageerror', (e) => errors.push(`B: ${e}`));
  try {
    // Ana opens a DM with Bo and writes.
    await openDm(page, bo.username);
    assert.equal((await page.getByTestId('chat-header-title').textContent())?.trim(), bo.displayName);
    await send(page, 'Hello Bo!');
    const mine = message(page, 'Hello Bo!');
    assert.equal(await mine.getByTestId('ticks').getAttribute('data-state'), 'sent');

    // Bo sees the chat appear with an unread badge, opens it: Ana's tick turns to seen.
    const item = pb.getByTestId('chat-item').filter({ hasText: ana.displayName });
    await item.waitFor();
    await item.getByTestId('unread-badge').waitFor();
    assert.equal((await item.getByTestId('unread-badge').textContent())?.trim(), '1');
    assert.match((await item.getByTestId('chat-preview').textContent()) ?? '', /Hello Bo!/);
    await item.click();
    await message(pb, 'Hello Bo!').waitFor();
    await waitUntil(page, () => document.querySelector('[data-testid=message][data-mine=true] [data-testid=ticks]')?.getAttribute('data-state') === 'seen', 'Ana sees ✓✓');
    await waitUntil(pb, () => !document.querySelector('[data-testid=unread-badge]'), 'Bo has no unread badge after reading');

    // Bo types: Ana sees "… is typing"; Bo sends: Ana gets it.
    await pb.getByTestId('composer').click();
    await pb.getByTestId('composer').pressSequentially('Hi An', { delay: 20 });
    await page.getByTestId('typing').waitFor({ timeout: 10_000 });
    assert.match((await page.getByTestId('typing').textContent()) ?? '', /typing/);
    await pb.getByTestId('composer').fill('Hi Ana!');
    await pb.getByTestId('composer').press('Enter');
    await message(page, 'Hi Ana!').waitFor();

    // Bo reacts 👍 to Ana's message; Ana sees the chip with a count and who.
    const onB = message(pb, 'Hello Bo!');
    await onB.hover();
    await onB.getByTestId('message-actions').click();
    await onB.locator('[data-testid=action-react][data-emoji="👍"]').click();
    const chip = message(page, 'Hello Bo!').locator('[data-testid=reaction][data-emoji="👍"]');
    await chip.waitFor();
    assert.equal((await chip.getByTestId('reaction-count').textContent())?.trim(), '1');
    assert.equal(await chip.getAttribute('title'), bo.displayName);

    // Bo replies to Ana's message: the quote shows it and jumps to it.
    await onB.hover();
    await onB.getByTestId('message-actions').click();
    await onB.getByTestId('action-reply').click();
    await pb.getByTestId('reply-bar').waitFor();
    await pb.getByTestId('composer').fill('Replying!');
    await pb.getByTestId('composer').press('Enter');
    const reply = message(page, 'Replying!');
    await reply.waitFor();
    assert.match((await reply.getByTestId('reply-quote').textContent()) ?? '', /Hello Bo!/);
    // Clicking the quote shows and highlights the original.
    const originalSeq = await message(page, 'Hello Bo!').getAttribute('data-seq');
    await reply.getByTestId('reply-quote').click();
    await waitUntil(page, (/** @type {string | null} */ seq) => document.querySelector(`[data-testid=message][data-seq="${seq}"] .chat-bubble`)?.classList.contains('ring-4') === true, 'the original is highlighted', originalSeq);

    // Ana edits her last message with ↑ in the empty composer: Bo sees the new text, edited.
    await send(page, 'Typo hree');
    await message(pb, 'Typo hree').waitFor();
    const box = page.getByTestId('composer');
    await box.click();
    await box.press('ArrowUp');
    await page.getByTestId('editing-bar').waitFor();
    assert.equal(await box.inputValue(), 'Typo hree');
    await box.fill('Typo here');
    await box.press('Enter');
    const edited = message(pb, 'Typo here');
    await edited.waitFor();
    await edited.getByTestId('edited-mark').waitFor();

    // Ana deletes it: Bo sees the deleted mark.
    const onA = message(page, 'Typo here');
    await onA.hover();
    await onA.getByTestId('message-actions').click();
    await onA.getByTestId('action-delete').click();
    // Confirmed in the app's own dialog.
    await page.getByTestId('confirm-ok').click();
    await waitUntil(pb, () => [...document.querySelectorAll('[data-testid=message-text]')].every((e) => e.textContent !== 'Typo here'), 'the deleted message is gone for Bo');
    await pb.getByTestId('message-deleted').waitFor();

    // Bo's actions menu has no Delete for Ana's message (no manage_messages in a DM).
    const anaMsg = message(pb, 'Hello Bo!');
    await anaMsg.hover();
    await anaMsg.getByTestId('message-actions').click();
    assert.equal(await anaMsg.getByTestId('action-delete').count(), 0);
    assert.equal(await anaMsg.getByTestId('action-edit').count(), 0);
    await pb.keyboard.press('Escape');
    await anaMsg.getByTestId('message-menu').waitFor({ state: 'detached' });

    assert.deepEqual(errors, []);
  } finally {
    await bo.context.close();
  }
}
