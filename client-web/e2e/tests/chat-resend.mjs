// A message sent while the node is down goes out once it is back — exactly once (the same txn
// on every attempt) — and the other side, whose connection could not resume across the restart,
// resyncs and shows it.
import assert from 'node:assert/strict';

import { message, openDm, secondUser, send } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'chat: a message sent during a node restart arrives once; the peer resyncs';
export const needs = 'node-control';

/** @param {{ page: import('playwright-core').Page, baseUrl: string, node: { stop: () => Promise<void>, start: () => Promise<void> } | null }} ctx */
export async function run({ page, baseUrl, node }) {
  assert.ok(node, 'needs a node the harness controls');
  await page.setViewportSize({ width: 1200, height: 800 });
  await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const bo = await secondUser(page, baseUrl);
  try {
    await openDm(page, bo.username);
    await send(page, 'before the restart');
    await bo.page.getByTestId('chat-item').first().click();
    await message(bo.page, 'before the restart').waitFor();

    await node.stop();
    await waitForConnection(page, 'reconnecting');
    const box = page.getByTestId('composer');
    await box.fill('sent while down');
    await box.press('Enter');
    await node.start();
    await waitForConnection(page, 'connected', 45_000);
    await message(page, 'sent while down').waitFor({ timeout: 60_000 });
    await waitForConnection(bo.page, 'connected', 45_000);
    await message(bo.page, 'sent while down').waitFor({ timeout: 30_000 });
    await page.waitForTimeout(500);
    assert.equal(await message(page, 'sent while down').count(), 1);
    assert.equal(await message(bo.page, 'sent while down').count(), 1);
    assert.equal(await page.getByTestId('composer').inputValue(), '');
  } finally {
    await bo.context.close();
  }
}
