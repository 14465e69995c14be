// Online presence: Ana's DM header shows Bo "online" while Bo has the app open and turns to
// "last seen today at …" live when Bo's page closes; a reload of Ana's page keeps it (asked with
// `presence.get`); Bo opening the app again turns it back to "online" live. Online DM peers get
// a green dot in the chat list, on both sides.
import assert from 'node:assert/strict';

import { openDm, secondUser, send, waitUntil } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'chat: presence — online / last seen in the DM header and dots in the list, live';
export const needs = 'node';

/** @param {import('playwright-core').Page} page */
async function presenceOf(page) {
  const line = page.getByTestId('peer-presence');
  return { status: await line.getAttribute('data-status'), text: ((await line.textContent()) ?? '').trim() };
}

/**
 * Waits until the DM header's presence line has `status`.
 * @param {import('playwright-core').Page} page
 * @param {'online' | 'offline'} status
 * @param {string} what
 */
function headerStatus(page, status, what) {
  return waitUntil(page, (s) => document.querySelector('[data-testid=peer-presence]')?.getAttribute('data-status') === s, what, status, 20_000);
}

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(`A: ${e}`));
  await page.setViewportSize({ width: 1200, height: 800 });
  const ana = await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const bo = await secondUser(page, baseUrl);
  let pb = bo.page;
  pb.on('pageerror', (e) => errors.push(`B: ${e}`));
  try {
    // Bo has the app open: Ana opens a DM with him and sees him online, with a dot in her list.
    await openDm(page, bo.username);
    await headerStatus(page, 'online', "Ana's header shows Bo online");
    assert.deepEqual(await presenceOf(page), { status: 'online', text: 'online' });
    const boItem = page.locator('[data-testid=chat-item]', { hasText: bo.displayName });
    await boItem.locator('[data-testid=online-dot]').waitFor();
    assert.equal(await boItem.getAttribute('data-online'), 'true');

    // Ana writes: the chat appears in Bo's list with a dot for Ana, and his header says online.
    await send(page, 'Are you there?');
    const anaItem = pb.locator('[data-testid=chat-item]', { hasText: ana.displayName });
    await anaItem.waitFor();
    await anaItem.locator('[data-testid=online-dot]').waitFor();
    await anaItem.click();
    await headerStatus(pb, 'online', "Bo's header shows Ana online");

    // Bo closes the app: Ana's header turns to "last seen today at …" live, the dot goes.
    await pb.close();
    await headerStatus(page, 'offline', "Ana's header shows Bo offline after his page closed");
    const gone = await presenceOf(page);
    assert.match(gone.text, /^last seen today at \d/);
    await boItem.locator('[data-testid=online-dot]').waitFor({ state: 'detached' });

    // A reload asks the node (presence.get): still "last seen …".
    await page.reload();
    await waitForConnection(page, 'connected');
    await page.getByTestId('chat-header-title').waitFor();
    await headerStatus(page, 'offline', "Ana's header shows Bo offline after a reload");
    assert.equal((await presenceOf(page)).text, gone.text);
    assert.equal(await boItem.locator('[data-testid=online-dot]').count(), 0);

    // Bo opens the app again (same browser: the session is restored): online again, live.
    pb = await bo.context.newPage();
    pb.on('pageerror', (e) => errors.push(`B: ${e}`));
    await pb.goto(baseUrl);
    await waitForConnection(pb, 'connected');
    await headerStatus(page, 'online', "Ana's header shows Bo online again");
    await boItem.locator('[data-testid=online-dot]').waitFor();

    assert.deepEqual(errors, []);
  } finally {
    await bo.context.close();
  }
}
