// Nothing typed is lost over a slow link. Ana's browser talks to the node through a proxy that
// holds every chunk 150 ms each way; she sends 60 messages as fast as the script can type them
// and press Enter: Bo sees all 60, once each, in the order written. Text typed right after Enter,
// while the send is on its way, stays in the composer.
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';

import { message, openDm, secondUser, send, waitUntil } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'chat: 60 fast messages over a slow link arrive once each, in order; typing during a send stays';
export const needs = 'node';

const DELAY_MS = 150;
const COUNT = 60;

/**
 * A TCP proxy on a free 127.0.0.1 port in front of `target`, delaying each direction by
 * `delayMs` (chunks keep their order: timers of equal delay fire in the order they were set).
 * @param {string} target  the node's base URL
 * @param {number} delayMs
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
async function delayingProxy(target, delayMs) {
  const { hostname, port } = new URL(target);
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    /** @param {import('node:net').Socket} from @param {import('node:net').Socket} to */
    const pipe = (from, to) => {
      from.on('data', (chunk) => setTimeout(() => to.destroyed || to.write(chunk), delayMs));
      from.on('end', () => setTimeout(() => to.destroyed || to.end(), delayMs));
      // After the data still in flight: the other side learns of the close as late as of the bytes.
      from.on('close', () => setTimeout(() => to.destroy(), delayMs + 20));
      from.on('error', () => {});
    };
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(undefined));
  });
  const address = server.address();
  const listening = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${listening}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * The texts of the committed messages shown, in order.
 * @param {import('playwright-core').Page} page
 */
function texts(page) {
  return page.locator('[data-testid=message] [data-testid=message-text]').allTextContents();
}

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  const proxy = await delayingProxy(baseUrl, DELAY_MS);
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(`A: ${e}`));
  await page.setViewportSize({ width: 1200, height: 800 });
  const bo = await secondUser(page, baseUrl);
  try {
    await register(page, proxy.url);
    await waitForConnection(page, 'connected', 30_000);
    await openDm(page, bo.username);
    await send(page, 'hello over a slow link');
    await bo.page.getByTestId('chat-item').first().click();
    await message(bo.page, 'hello over a slow link').waitFor();

    // Typed right after Enter, while the send is on its way: it stays (3 times out of 3).
    const box = page.getByTestId('composer');
    for (let i = 1; i <= 3; i++) {
      await box.fill(`first part ${i}`);
      await box.press('Enter');
      await box.pressSequentially('and then more');
      await message(page, `first part ${i}`).waitFor();
      assert.equal(await box.inputValue(), 'and then more', `after send ${i}`);
      await box.fill('');
    }

    // 60 messages as fast as the script can type them and press Enter.
    const sent = Array.from({ length: COUNT }, (_, i) => `burst ${i + 1}`);
    for (const text of sent) {
      await box.fill(text);
      await box.press('Enter');
    }
    assert.equal(await box.inputValue(), '');

    // Bo gets all of them, once each, in order.
    await waitUntil(
      bo.page,
      (last) => [...document.querySelectorAll('[data-testid=message-text]')].some((e) => e.textContent === last),
      `Bo receives "${sent.at(-1)}"`,
      sent.at(-1),
      120_000,
    );
    await bo.page.waitForTimeout(500);
    const atBo = (await texts(bo.page)).filter((t) => t.startsWith('burst '));
    assert.deepEqual(atBo, sent);

    // Ana: every message committed (none left sending or failed), in the same order.
    await waitUntil(page, () => document.querySelectorAll('[data-testid=pending-message]').length === 0, 'Ana has no message left in the outbox', undefined, 30_000);
    const atAna = (await texts(page)).filter((t) => t.startsWith('burst '));
    assert.deepEqual(atAna, sent);
    assert.deepEqual(errors, []);
  } finally {
    await bo.context.close();
    await proxy.close();
  }
}
