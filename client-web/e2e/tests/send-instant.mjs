// Sending feels instant over a slow link: with every frame from the node held 1.5 s, the bubble
// is there the moment Enter is pressed, with a clock; the tick comes with the acknowledgement.
import assert from 'node:assert/strict';

import { message, openDm, secondUser, send } from './chat-support.mjs';
import { controlLink } from './link-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'send: the bubble shows at once with a clock, the tick after the delayed acknowledgement';
export const needs = 'node';

const DELAY_MS = 1_500;

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  await page.setViewportSize({ width: 1200, height: 800 });
  const link = await controlLink(page.context());
  await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const bo = await secondUser(page, baseUrl);
  try {
    await openDm(page, bo.username);
    await send(page, 'before the slow link');

    link.delay(DELAY_MS);
    const box = page.getByTestId('composer');
    await box.fill('instant bubble');
    const pressed = Date.now();
    await box.press('Enter');

    // The bubble, with its clock, long before the node's answer can arrive.
    const bubble = page.locator('[data-testid=pending-message]', { hasText: 'instant bubble' });
    await bubble.getByTestId('pending-clock').waitFor({ timeout: DELAY_MS - 500 });
    const shownAfter = Date.now() - pressed;
    assert.ok(shownAfter < DELAY_MS - 500, `the bubble showed after ${shownAfter} ms`);
    assert.equal(await box.inputValue(), '', 'the composer is free at once');
    assert.equal(await message(page, 'instant bubble').count(), 0, 'not committed yet on this page');

    // The tick: on the committed message (or on the bubble while its event is on its way).
    await page
      .locator('[data-testid=message], [data-testid=pending-message]', { hasText: 'instant bubble' })
      .locator('[data-testid=ticks]')
      .first()
      .waitFor({ timeout: 15_000 });
    const tickedAfter = Date.now() - pressed;
    assert.ok(tickedAfter >= DELAY_MS - 100, `the tick came after ${tickedAfter} ms, before the acknowledgement could`);
    await message(page, 'instant bubble').getByTestId('ticks').waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('[data-testid=pending-clock]').count(), 0, 'no clock is left');

    await bo.page.getByTestId('chat-item').first().click();
    await message(bo.page, 'instant bubble').waitFor();
    assert.equal(await message(bo.page, 'instant bubble').count(), 1);
  } finally {
    await bo.context.close();
  }
}
