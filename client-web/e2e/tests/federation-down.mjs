// A node that cannot be reached, in the browser: bob on B is in a group of A and knows of
// another one. With A stopped he still reads the group; his post waits ("Waiting for A…",
// not an endless "Sending…"); joining A's other group, from the directory or from its join
// page, says that A cannot be reached instead of spinning. Once A is back, the waiting post is
// committed exactly once and alice sees it, and the join page joins the other group.
import assert from 'node:assert/strict';

import { message, send, waitUntil } from './chat-support.mjs';
import { assertNoSpinner, badgeText, createPublicGroup, findInDirectory } from './federation-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'federation: with A down, B says so — a waiting post sent once when A is back, joins refused with a clear message';
export const needs = 'nodes';

/** Every wait of this test is bounded by this. */
const TIMEOUT = 15_000;
/** How soon a request that needs A must answer once A is down (the spec says about 2 s). */
const PROMPT = 8_000;

/**
 * @param {{
 *   page: import('playwright-core').Page,
 *   nodes: { a: { baseUrl: string, name: string, stop: () => Promise<void>, start: () => Promise<void> }, b: { baseUrl: string, name: string } },
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
  await register(pa, nodes.a.baseUrl);
  await waitForConnection(pa, 'connected');

  const tag = Math.random().toString(36).slice(2, 8);
  const joined = { handle: `down_${tag}`, name: `Joined ${tag}` };
  const other = { handle: `later_${tag}`, name: `Later ${tag}` };
  const otherFull = `#${other.handle}:${nodes.a.name}`;

  // Alice, on A, makes two public groups: bob joins the first now, the second only later.
  await createPublicGroup(pa, other.name, other.handle);
  await createPublicGroup(pa, joined.name, joined.handle);
  await send(pa, 'Before the outage');

  const pb = await newPage('b');
  pb.setDefaultTimeout(TIMEOUT);
  pb.on('pageerror', (e) => errors.push(`B: ${e}`));
  await register(pb, nodes.b.baseUrl);
  await waitForConnection(pb, 'connected');
  const entry = await findInDirectory(pb, `#${joined.handle}:${nodes.a.name}`);
  assert.equal(await badgeText(entry), nodes.a.name);
  await entry.getByTestId('directory-join').click();
  await pb.getByTestId('chat-view').waitFor();
  await message(pb, 'Before the outage').waitFor();
  const groupUrl = pb.url();

  // While A is up, bob sees A's other group in the directory (he has not joined it).
  const later = await findInDirectory(pb, otherFull);
  assert.equal(await badgeText(later), nodes.a.name);

  // A goes down.
  await nodes.a.stop();

  // Joining the group he found: a clear message, promptly, and no spinner.
  let started = Date.now();
  await later.getByTestId('directory-join').click();
  // Shown on the group's row, where Join was clicked.
  const dirError = later.getByTestId('directory-join-error');
  await dirError.waitFor({ timeout: PROMPT });
  assert.equal((await dirError.textContent())?.trim(), `${nodes.a.name} cannot be reached right now. Try again later.`);
  assert.ok(Date.now() - started < PROMPT, `the join took ${Date.now() - started} ms to fail`);
  assert.equal(await later.getByTestId('directory-join').isDisabled(), false, 'the Join button is usable again');
  await assertNoSpinner(pb, 'in the directory after the failed join');

  // Typing the handle on the join page: the lookup fails with the same message.
  started = Date.now();
  await pb.goto(`${nodes.b.baseUrl}/join/${encodeURIComponent(otherFull)}`);
  const joinError = pb.getByTestId('join-error');
  await joinError.waitFor({ timeout: PROMPT + 5_000 });
  assert.equal((await joinError.textContent())?.trim(), `${nodes.a.name} cannot be reached right now. Try again later.`);
  await assertNoSpinner(pb, 'on the join page');

  // Back in the group: the history is still there (B's copy), and a post waits for A.
  await pb.goto(groupUrl);
  await waitForConnection(pb, 'connected');
  await message(pb, 'Before the outage').waitFor();
  const box = pb.getByTestId('composer');
  await box.click();
  await box.fill('Sent while A was down');
  await box.press('Enter');
  const pending = pb.locator('[data-testid=pending-message]', { hasText: 'Sent while A was down' });
  await waitUntil(
    pb,
    (/** @type {string} */ node) => [...document.querySelectorAll('[data-testid=pending-status]')].some((s) => s.textContent?.includes(`Waiting for ${node}`)),
    `the pending post says it waits for ${nodes.a.name}`,
    nodes.a.name,
    PROMPT,
  );
  assert.equal(await pending.getAttribute('data-state'), 'sending');

  // A comes back: the post goes through once, and alice sees it once.
  await nodes.a.start();
  await message(pb, 'Sent while A was down').waitFor({ timeout: 45_000 });
  await waitUntil(pb, () => document.querySelectorAll('[data-testid=pending-message]').length === 0, 'nothing pending on B any more', undefined, TIMEOUT);
  await pa.reload();
  await waitForConnection(pa, 'connected', 30_000);
  await pa.getByTestId('chat-item').filter({ hasText: joined.name }).click();
  await message(pa, 'Sent while A was down').waitFor({ timeout: 30_000 });
  assert.equal(await message(pa, 'Sent while A was down').count(), 1, 'alice sees the post once');
  assert.equal(await message(pb, 'Sent while A was down').count(), 1, 'bob sees the post once');

  // With A back, the join page of the other group works: preview from A, join by handle.
  await pb.goto(`${nodes.b.baseUrl}/join/${encodeURIComponent(otherFull)}`);
  await pb.getByTestId('join-name').waitFor({ timeout: 30_000 });
  assert.equal((await pb.getByTestId('join-name').textContent())?.trim(), other.name);
  const shownHandle = (await pb.getByTestId('join-handle').textContent()) ?? '';
  assert.ok(shownHandle.includes(otherFull), `the join page shows ${JSON.stringify(shownHandle)}`);
  assert.equal(await badgeText(pb.getByTestId('join-handle')), nodes.a.name);
  await pb.getByTestId('join-submit').click();
  await pb.getByTestId('chat-view').waitFor();
  await waitUntil(pb, (/** @type {string} */ n) => document.querySelector('[data-testid=chat-header-title]')?.textContent?.trim() === n, `the chat view of ${other.name}`, other.name);

  assert.deepEqual(errors, []);
}
