// Drafts are kept per chat: across switching chats and a reload; sending clears a chat's draft
// (and only that one).
import assert from 'node:assert/strict';

import { openDm, secondUser } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'drafts: kept per chat across chat switches and a reload, cleared on send';
export const needs = 'node';

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  await page.setViewportSize({ width: 1200, height: 800 });
  await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const bo = await secondUser(page, baseUrl);
  const cy = await secondUser(page, baseUrl);
  try {
    const box = page.getByTestId('composer');
    /** @param {{ displayName: string }} who */
    const openChat = async (who) => {
      await page.locator('[data-testid=chat-item]', { hasText: who.displayName }).click();
      await page.locator('[data-testid=chat-header-title]', { hasText: who.displayName }).waitFor();
      await box.waitFor();
    };

    await openDm(page, bo.username);
    await box.fill('draft for Bo\nsecond line');
    await openDm(page, cy.username);
    await page.locator('[data-testid=chat-header-title]', { hasText: cy.displayName }).waitFor();
    assert.equal(await box.inputValue(), '', 'a new chat starts empty');
    await box.fill('draft for Cy');

    await openChat(bo);
    assert.equal(await box.inputValue(), 'draft for Bo\nsecond line');
    await openChat(cy);
    assert.equal(await box.inputValue(), 'draft for Cy');

    // A reload keeps both.
    await page.reload();
    await page.getByTestId('user-name').waitFor();
    await box.waitFor();
    await page.locator('[data-testid=chat-header-title]', { hasText: cy.displayName }).waitFor();
    assert.equal(await box.inputValue(), 'draft for Cy');
    await openChat(bo);
    assert.equal(await box.inputValue(), 'draft for Bo\nsecond line');

    // Sending clears that chat's draft, for good.
    await box.press('Enter');
    await page.locator('[data-testid=message] [data-testid=message-text]', { hasText: 'draft for Bo' }).waitFor();
    assert.equal(await box.inputValue(), '');
    await page.reload();
    await page.getByTestId('user-name').waitFor();
    await box.waitFor();
    await page.locator('[data-testid=chat-header-title]', { hasText: bo.displayName }).waitFor();
    assert.equal(await box.inputValue(), '', 'the sent draft does not come back');
    await openChat(cy);
    assert.equal(await box.inputValue(), 'draft for Cy', 'the other chat keeps its draft');

    // Only the draft not sent is kept.
    const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('winichat.draft ')));
    assert.equal(stored.length, 1, `one draft kept: ${JSON.stringify(stored)}`);
  } finally {
    await bo.context.close();
    await cy.context.close();
  }
}
