// Federation in the browser: a user of node A creates a public group and posts; a user of node
// B, in B's own web app, finds the group by its full `#handle:A`, joins through B, reads the
// history, and the two talk live both ways.
import assert from 'node:assert/strict';

import { message, send, waitUntil } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'federation: a user of B joins a group of A through B and they talk live';
export const needs = 'nodes';

/** Every wait of this test is bounded by this. */
const TIMEOUT = 15_000;

/**
 * The message `text` shows `user` as its sender: by display name, or by user name while the
 * app knows no profile for a user of another node.
 * @param {import('playwright-core').Page} page
 * @param {string} text
 * @param {{ username: string, displayName: string }} user
 */
async function assertSender(page, text, user) {
  const shown = (await message(page, text).getByTestId('message-sender').textContent())?.trim();
  assert.ok(shown === user.displayName || shown === user.username, `sender of ${JSON.stringify(text)} is ${JSON.stringify(shown)}, expected ${user.displayName} or ${user.username}`);
}

/**
 * @param {{
 *   page: import('playwright-core').Page,
 *   nodes: { a: { baseUrl: string, name: string }, b: { baseUrl: string, name: string } },
 *   newPage: (label: string) => Promise<import('playwright-core').Page>,
 * }} ctx
 */
export async function run({ page, nodes, newPage }) {
  /** @type {string[]} */
  const errors = [];
  const pa = page;
  pa.setDefaultTimeout(TIMEOUT);
  pa.on('pageerror', (e) => errors.push(`A: ${e}`));
  await pa.setViewportSize({ width: 1200, height: 800 });
  const alice = await register(pa, nodes.a.baseUrl);
  await waitForConnection(pa, 'connected');

  const handle = `fed_${Math.random().toString(36).slice(2, 8)}`;
  const fullHandle = `#${handle}:${nodes.a.name}`;
  const groupName = `Across ${handle}`;

  // Alice, on A, creates a public group and posts before anyone else is in it.
  await pa.getByTestId('new-group').click();
  await pa.getByTestId('create-group-form').waitFor();
  await pa.getByTestId('group-name').fill(groupName);
  await pa.getByTestId('group-public').check();
  await pa.getByTestId('group-handle').fill(handle);
  await pa.getByTestId('group-create').click();
  await pa.getByTestId('chat-view').waitFor();
  assert.equal((await pa.getByTestId('chat-header-title').textContent())?.trim(), groupName);
  await send(pa, 'Hello from A, before you came');

  // Bob, in B's web app, finds it by its full handle: B asks A.
  const pb = await newPage('b');
  pb.setDefaultTimeout(TIMEOUT);
  pb.on('pageerror', (e) => errors.push(`B: ${e}`));
  const bob = await register(pb, nodes.b.baseUrl);
  await waitForConnection(pb, 'connected');
  await pb.getByTestId('nav-directory').click();
  await pb.getByTestId('directory-search').fill(fullHandle);
  const entry = pb.locator(`[data-testid=directory-entry][data-handle="${fullHandle}"]`);
  await entry.waitFor();
  assert.match((await entry.textContent()) ?? '', new RegExp(groupName));
  assert.match((await entry.textContent()) ?? '', /1 member/);

  // He joins through B and reads the history from B's replica.
  await entry.getByTestId('directory-join').click();
  await pb.getByTestId('chat-view').waitFor();
  assert.equal((await pb.getByTestId('chat-header-title').textContent())?.trim(), groupName);
  await message(pb, 'Hello from A, before you came').waitFor();
  await assertSender(pb, 'Hello from A, before you came', alice);

  // Alice sees him join, live.
  await waitUntil(
    pa,
    (/** @type {string[]} */ names) =>
      [...document.querySelectorAll('[data-testid=event-line][data-kind="member.join"]')].some((e) => names.some((n) => e.textContent?.includes(`${n} joined`))),
    'the join line of the user of B on A',
    [bob.displayName, bob.username],
    TIMEOUT,
  );

  // B → A, live.
  await send(pb, 'Hi from B!');
  await message(pa, 'Hi from B!').waitFor();
  await assertSender(pa, 'Hi from B!', bob);

  // A → B, live.
  await send(pa, 'Welcome to A, B');
  await message(pb, 'Welcome to A, B').waitFor();
  await assertSender(pb, 'Welcome to A, B', alice);

  // Both show the same conversation, in the same order.
  /** @param {import('playwright-core').Page} p */
  const texts = (p) => p.locator('[data-testid=message] [data-testid=message-text]').allTextContents();
  const expected = ['Hello from A, before you came', 'Hi from B!', 'Welcome to A, B'];
  assert.deepEqual((await texts(pa)).map((t) => t.trim()), expected);
  assert.deepEqual((await texts(pb)).map((t) => t.trim()), expected);

  assert.deepEqual(errors, []);
}
