// A group hosted on B, in both web apps: bob on B creates it public, alice on A joins it by
// `#handle:B` from her directory, and they talk live both ways. Everything of the other node
// wears a node badge: the group in alice's list, header and panel ("Hosted on B"), alice as a
// sender and member on B, bob as a sender on A.
import assert from 'node:assert/strict';

import { message, send, waitUntil } from './chat-support.mjs';
import { badgeText, createPublicGroup, findInDirectory } from './federation-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'federation: a user of A joins a group hosted on B by #handle:B; live both ways, with node badges';
export const needs = 'nodes';

/** Every wait of this test is bounded by this. */
const TIMEOUT = 15_000;

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

  const pb = await newPage('b');
  pb.setDefaultTimeout(TIMEOUT);
  pb.on('pageerror', (e) => errors.push(`B: ${e}`));
  const bob = await register(pb, nodes.b.baseUrl);
  await waitForConnection(pb, 'connected');

  // Bob creates a public group on B and writes first.
  const handle = `homeb_${Math.random().toString(36).slice(2, 8)}`;
  const fullHandle = `#${handle}:${nodes.b.name}`;
  const groupName = `On B ${handle}`;
  await createPublicGroup(pb, groupName, handle);
  await send(pb, 'Welcome to B');
  // His own group on his own node: no badge, and it is hosted on B.
  assert.equal(await pb.locator('[data-testid=chat-view] header [data-testid=node-badge]').count(), 0);

  // Alice finds it by its whole handle in A's directory: badged with B, and joins.
  const entry = await findInDirectory(pa, fullHandle);
  assert.equal(await badgeText(entry), nodes.b.name);
  await entry.getByTestId('directory-join').click();
  await pa.getByTestId('chat-view').waitFor();
  assert.equal((await pa.getByTestId('chat-header-title').textContent())?.trim(), groupName);
  assert.equal(await badgeText(pa.locator('[data-testid=chat-view] header')), nodes.b.name);
  await message(pa, 'Welcome to B').waitFor();
  assert.equal((await message(pa, 'Welcome to B').getByTestId('message-sender').getAttribute('title')), `@${bob.username}:${nodes.b.name}`);
  assert.equal(await badgeText(message(pa, 'Welcome to B')), nodes.b.name);
  const item = pa.getByTestId('chat-item').filter({ hasText: groupName });
  assert.equal(await badgeText(item), nodes.b.name);

  // Bob sees her join, live.
  await waitUntil(
    pb,
    (/** @type {string[]} */ names) =>
      [...document.querySelectorAll('[data-testid=event-line][data-kind="member.join"]')].some((e) => names.some((n) => e.textContent?.includes(`${n} joined`))),
    'the join line of the user of A on B',
    [alice.displayName, alice.username],
    TIMEOUT,
  );

  // A → B and B → A, live; each sees the other's node on the sender.
  await send(pa, 'Hello from A');
  await message(pb, 'Hello from A').waitFor();
  assert.equal(await badgeText(message(pb, 'Hello from A')), nodes.a.name);
  await send(pb, 'Hi A, from B');
  await message(pa, 'Hi A, from B').waitFor();
  assert.equal(await badgeText(message(pa, 'Hi A, from B')), nodes.b.name);

  /** @param {import('playwright-core').Page} p */
  const texts = (p) => p.locator('[data-testid=message] [data-testid=message-text]').allTextContents();
  const expected = ['Welcome to B', 'Hello from A', 'Hi A, from B'];
  assert.deepEqual((await texts(pa)).map((t) => t.trim()), expected);
  assert.deepEqual((await texts(pb)).map((t) => t.trim()), expected);

  // The group panel: "Hosted on B" for both; on B, alice's row shows her whole id and node.
  await pa.getByTestId('group-info').click();
  await pa.getByTestId('group-panel').waitFor();
  assert.equal((await pa.getByTestId('group-home-node').textContent())?.trim(), `Hosted on ${nodes.b.name}`);
  await pb.getByTestId('group-info').click();
  await pb.getByTestId('group-panel').waitFor();
  assert.equal((await pb.getByTestId('group-home-node').textContent())?.trim(), `Hosted on ${nodes.b.name}`);
  await pb.getByTestId('group-tab-members').click();
  const aliceId = `@${alice.username}:${nodes.a.name}`;
  const row = pb.locator(`[data-testid=member-row][data-user="${aliceId}"]`);
  await row.waitFor();
  assert.equal((await row.getByTestId('member-id').textContent())?.trim(), aliceId);
  assert.equal(await badgeText(row), nodes.a.name);
  const bobRow = pb.locator(`[data-testid=member-row][data-user="@${bob.username}:${nodes.b.name}"]`);
  assert.equal(await bobRow.getByTestId('node-badge').count(), 0);

  assert.deepEqual(errors, []);
}
