// An invite link of another node, in the browser: alice on A creates a private group and an
// invite link (`http://A/join/CODE`); bob pastes it into B's own web app ("join with a link"),
// lands on B's join page for it (`/join/CODE?node=A`), sees the group's preview fetched from A,
// joins through B, and the two talk. A used-up link then gets A's specific refusal, not a spinner.
import assert from 'node:assert/strict';

import { message, send, waitUntil } from './chat-support.mjs';
import { assertNoSpinner, badgeText } from './federation-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'federation: bob on B joins a private group of A through the invite link pasted into B';
export const needs = 'nodes';

/** Every wait of this test is bounded by this. */
const TIMEOUT = 20_000;

/**
 * Opens the group panel's `tab` of the open chat.
 * @param {import('playwright-core').Page} page
 * @param {string} tab
 */
async function openTab(page, tab) {
  if (!(await page.getByTestId('group-panel').isVisible().catch(() => false))) {
    await page.getByTestId('group-info').click();
    await page.getByTestId('group-panel').waitFor();
  }
  await page.getByTestId(`group-tab-${tab}`).click();
  await page.waitForFunction((t) => document.querySelector('[data-testid=group-panel]')?.getAttribute('data-tab') === t, tab);
}

/**
 * Pastes `link` into B's "join with a link" field and waits for the join page's outcome.
 * @param {import('playwright-core').Page} page
 * @param {string} link
 */
async function pasteLink(page, link) {
  await page.getByTestId('nav-directory').click();
  await page.getByTestId('directory').waitFor();
  await page.getByTestId('join-with-link-input').fill(link);
  await page.getByTestId('join-with-link-submit').click();
  await page.getByTestId('join-link').waitFor();
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
  await register(pa, nodes.a.baseUrl);
  await waitForConnection(pa, 'connected');

  // Alice, on A, creates a private group and a link for one use.
  const groupName = `Private ${Math.random().toString(36).slice(2, 8)}`;
  await pa.getByTestId('new-group').click();
  await pa.getByTestId('create-group-form').waitFor();
  await pa.getByTestId('group-name').fill(groupName);
  await pa.getByTestId('group-create').click();
  await pa.getByTestId('chat-view').waitFor();
  await waitUntil(pa, (/** @type {string} */ n) => document.querySelector('[data-testid=chat-header-title]')?.textContent?.trim() === n, `the chat view of ${groupName}`, groupName);
  await send(pa, 'Welcome to the private room');
  await openTab(pa, 'invites');
  await pa.getByTestId('link-max-uses').fill('1');
  await pa.getByTestId('link-create').click();
  const link = await pa.getByTestId('link-url').first().inputValue();
  // The link's address is A's, under A's node name.
  assert.equal(new URL(link).host, nodes.a.name, `the link ${link} is under A's name`);
  const code = /\/join\/([A-Za-z0-9_-]+)$/.exec(link)?.[1];
  assert.ok(code, `a link code in ${link}`);

  // Bob, in B's web app, pastes it: B's own join page, naming A, with the preview from A.
  const pb = await newPage('b');
  pb.setDefaultTimeout(TIMEOUT);
  pb.on('pageerror', (e) => errors.push(`B: ${e}`));
  await register(pb, nodes.b.baseUrl);
  await waitForConnection(pb, 'connected');
  await pasteLink(pb, link);
  const landed = new URL(pb.url());
  assert.equal(landed.host, nodes.b.name, 'the join page is B’s');
  assert.equal(landed.pathname, `/join/${code}`);
  assert.equal(landed.searchParams.get('node'), nodes.a.name);
  const outcome = await Promise.race([
    pb.getByTestId('join-name').waitFor().then(() => 'preview'),
    pb.getByTestId('join-error').waitFor().then(() => 'error'),
  ]);
  if (outcome === 'error') assert.fail(`the preview failed: ${(await pb.getByTestId('join-error').textContent())?.trim()}`);
  assert.equal((await pb.getByTestId('join-name').textContent())?.trim(), groupName);
  assert.match((await pb.getByTestId('join-members').textContent()) ?? '', /^1 member$/);
  assert.equal(await badgeText(pb.getByTestId('join-link')), nodes.a.name);

  // He joins through B and reads the history from B's replica.
  await pb.getByTestId('join-submit').click();
  const joined = await Promise.race([
    pb.getByTestId('chat-view').waitFor().then(() => 'joined'),
    pb.locator('[data-testid=join-link] [data-testid=join-error]').waitFor().then(() => 'error'),
  ]);
  if (joined === 'error') assert.fail(`joining failed: ${(await pb.getByTestId('join-error').textContent())?.trim()}`);
  await waitUntil(pb, (/** @type {string} */ n) => document.querySelector('[data-testid=chat-header-title]')?.textContent?.trim() === n, `bob's chat view of ${groupName}`, groupName);
  await message(pb, 'Welcome to the private room').waitFor();

  // They talk live, across.
  await send(pb, 'Thanks for the link');
  await message(pa, 'Thanks for the link').waitFor();

  // A second user of B pastes the same link, now used up: A's refusal, said as such.
  const pc = await newPage('c');
  pc.setDefaultTimeout(TIMEOUT);
  pc.on('pageerror', (e) => errors.push(`C: ${e}`));
  await register(pc, nodes.b.baseUrl);
  await waitForConnection(pc, 'connected');
  await pasteLink(pc, link);
  await pc.getByTestId('join-error').waitFor();
  assert.equal((await pc.getByTestId('join-error').textContent())?.trim(), `This invite link of ${nodes.a.name} is invalid, expired, used up or revoked.`);
  await assertNoSpinner(pc, 'after the refusal');

  assert.deepEqual(errors, []);
}
