// Against a node the harness controls: stop it, the app says "reconnecting"; start it again on
// the same ports and data directory, and the app reconnects by itself.
import assert from 'node:assert/strict';

import { register, waitForConnection } from './support.mjs';

export const name = 'node restart: reconnecting, then connected again by itself';
export const needs = 'node-control';

/** @param {{ page: import('playwright-core').Page, baseUrl: string, node: { stop: () => Promise<void>, start: () => Promise<void> } | null }} ctx */
export async function run({ page, baseUrl, node }) {
  assert.ok(node, 'needs a node the harness controls');
  await register(page, baseUrl);
  await waitForConnection(page, 'connected');

  await node.stop();
  await waitForConnection(page, 'reconnecting', 15_000);

  await node.start();
  // Backoff is at most a few seconds after a short outage.
  await waitForConnection(page, 'connected', 45_000);
  await page.getByTestId('user-name').waitFor();
}
