// A direct chat across nodes, in the browser: alice on A opens it by typing `@bob:B` in the new
// message dialog (which shows bob's display name, asked of B); bob sees it appear on B; they
// talk both ways (typing shows across), alice's message turns ✓✓ once bob has read it, and bob
// opening it by `@alice:A` finds the same chat, where he forwards alice's message (the chat is
// homed on A, which reads the original itself): alice sees it forwarded from her.
import assert from 'node:assert/strict';

import { message, send, waitUntil } from './chat-support.mjs';
import { badgeText } from './federation-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'federation: alice on A opens a direct chat with @bob:B; both talk, typing and ✓✓ across, one chat from either side, a forward from B into the chat on A';
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
  const bobId = `@${bob.username}:${nodes.b.name}`;

  // Alice types bob's whole id: the dialog offers to open the chat by id, badged with B.
  await pa.getByTestId('new-dm').click();
  await pa.getByTestId('user-search').fill(bobId);
  const offer = pa.getByTestId('user-remote');
  await offer.waitFor();
  assert.equal(await offer.getAttribute('data-user'), bobId);
  assert.equal(await badgeText(offer), nodes.b.name);
  // B answers the lookup: bob's display name shows.
  await waitUntil(pa, (/** @type {string} */ n) => document.querySelector('[data-testid=user-remote-name]')?.textContent?.trim() === n, `the offer names ${bob.displayName}`, bob.displayName);
  await offer.click();
  const outcome = await Promise.race([
    pa.getByTestId('chat-view').waitFor().then(() => 'opened'),
    pa.getByTestId('new-dm-error').waitFor().then(() => 'error'),
  ]);
  if (outcome === 'error') assert.fail(`opening the direct chat failed: ${(await pa.getByTestId('new-dm-error').textContent())?.trim()}`);
  await pa.getByTestId('composer').waitFor();
  assert.equal(await badgeText(pa.locator('[data-testid=chat-view] header')), nodes.b.name);

  // Alice writes: ✓ on A; the chat appears on B with alice badged with A.
  await send(pa, 'Hello bob, from A');
  const mine = message(pa, 'Hello bob, from A');
  assert.equal(await mine.getByTestId('ticks').getAttribute('data-state'), 'sent');
  const item = pb.getByTestId('chat-item').filter({ hasText: 'Hello bob, from A' });
  await item.waitFor();
  assert.equal(await badgeText(item), nodes.a.name);
  await item.click();
  await message(pb, 'Hello bob, from A').waitFor();

  // Bob has read it: ✓✓ on A.
  await waitUntil(pa, () => document.querySelector('[data-testid=message][data-mine=true] [data-testid=ticks]')?.getAttribute('data-state') === 'seen', 'alice sees ✓✓', undefined, TIMEOUT);

  // Bob types: alice sees it, across the nodes. Then he answers.
  await pb.getByTestId('composer').click();
  await pb.getByTestId('composer').pressSequentially('Hi ali', { delay: 20 });
  await pa.getByTestId('typing').waitFor({ timeout: 10_000 });
  assert.match((await pa.getByTestId('typing').textContent()) ?? '', /typing/);
  await pb.getByTestId('composer').fill('');
  await send(pb, 'Hi alice, from B');
  await message(pa, 'Hi alice, from B').waitFor();

  // Bob opening a direct chat with alice's whole id from his side finds the same chat.
  const group = new URL(pa.url()).pathname;
  const aliceId = `@${alice.username}:${nodes.a.name}`;
  await pb.getByTestId('nav-directory').click();
  await pb.getByTestId('directory').waitFor();
  await pb.getByTestId('new-dm').click();
  await pb.getByTestId('user-search').fill(aliceId);
  await pb.getByTestId('user-remote').click();
  await waitUntil(pb, (/** @type {string} */ path) => location.pathname === path, `bob is in the same chat ${group}`, group);
  await message(pb, 'Hello bob, from A').waitFor();
  // One direct chat on B (its preview may still be catching up with the last message).
  await waitUntil(pb, () => [...document.querySelectorAll('[data-testid=chat-item]')].filter((e) => e.textContent?.includes('Hi alice, from B')).length === 1, 'one direct chat on B', undefined, TIMEOUT);
  assert.equal(await pb.getByTestId('chat-item').count(), 1, 'one direct chat on B');
  // On B the chat is titled with alice (her display name once B has her profile) and badged A.
  const title = (await pb.getByTestId('chat-header-title').textContent())?.trim();
  assert.ok(title === alice.displayName || title === alice.username, `B's header shows ${JSON.stringify(title)}`);
  assert.equal(await badgeText(pb.locator('[data-testid=chat-view] header')), nodes.a.name);

  // Bob forwards alice's message into the chat, which is homed on A: offered, sent, and shown
  // on both sides as forwarded from alice.
  await message(pb, 'Hello bob, from A').click({ button: 'right' });
  await pb.getByTestId('message-menu').waitFor();
  await pb.getByTestId('action-forward').click();
  const dialog = pb.getByTestId('forward-dialog');
  await dialog.waitFor();
  const target = pb.locator('[data-testid=forward-target]').first();
  await target.waitFor();
  assert.equal(await target.isDisabled(), false, `the chat on A is offered: ${(await target.textContent())?.trim()}`);
  await target.click();
  await dialog.waitFor({ state: 'hidden' });
  const forwarded = (/** @type {import('playwright-core').Page} */ p) => p.locator('[data-testid=message]', { has: p.getByTestId('forwarded-from') }).filter({ hasText: 'Hello bob, from A' });
  await forwarded(pa).waitFor();
  assert.equal((await forwarded(pa).getByTestId('forwarded-from').textContent())?.trim(), `Forwarded from ${alice.displayName}`);
  await forwarded(pb).waitFor();

  assert.deepEqual(errors, []);
}
