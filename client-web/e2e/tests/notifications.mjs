// Browser notifications: with permission granted and the tab hidden, a message from another
// user makes a Notification (recorded by wrapping window.Notification) naming the sender and
// the text; clicking it focuses the tab and opens that chat; a visible tab gets none. The other
// user, who never granted anything, is offered notifications in the app after their first
// message (never on load), and "Not now" is remembered. The favicon and the manifest are served.
import assert from 'node:assert/strict';

import { message, openDm, secondUser, send, waitUntil } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'notifications: a hidden tab is notified of a new message, the click opens the chat; offered after the first send; favicon and manifest';
export const needs = 'node';

/** Runs in the page before the app: records notifications, and lets the test hide the tab. */
function instrument() {
  const Real = window.Notification;
  /** @type {{ title: string, body?: string, tag?: string }[]} */
  const shown = [];
  /** @type {Notification[]} */
  const made = [];
  class Recorded extends Real {
    /** @param {string} title @param {NotificationOptions} [options] */
    constructor(title, options) {
      super(title, options);
      shown.push({ title, body: options?.body, tag: options?.tag });
      made.push(this);
    }
  }
  Object.defineProperty(window, 'Notification', { value: Recorded, configurable: true, writable: true });
  let hidden = false;
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
  Object.assign(window, {
    __notifications: shown,
    __clickNotification: (/** @type {number} */ i) => made[i]?.onclick?.(new Event('click')),
    __setHidden: (/** @type {boolean} */ h) => {
      hidden = h;
      document.dispatchEvent(new Event('visibilitychange'));
    },
  });
}

/** @param {import('playwright-core').Page} page */
function notifications(page) {
  // @ts-expect-error set by instrument()
  return page.evaluate(() => window.__notifications.map((n) => ({ ...n })));
}

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.setViewportSize({ width: 1280, height: 800 });

  // The icons and the manifest are real files, not the app's page.
  /** @type {[string, RegExp][]} */
  const files = [['/favicon.ico', /image\//], ['/favicon.svg', /image\/svg/], ['/icon-192.png', /image\/png/], ['/icon-512.png', /image\/png/], ['/manifest.webmanifest', /json/]];
  for (const [path, type] of files) {
    const r = await fetch(`${baseUrl}${path}`);
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get('content-type') ?? '', type, `${path} is served as ${r.headers.get('content-type')}`);
  }
  const manifest = await (await fetch(`${baseUrl}/manifest.webmanifest`)).json();
  assert.equal(manifest.display, 'standalone');
  assert.deepEqual(manifest.icons.map((/** @type {{ sizes: string }} */ i) => i.sizes).filter((/** @type {string} */ s) => s !== 'any').sort(), ['192x192', '512x512', '512x512']);

  await page.context().grantPermissions(['notifications'], { origin: baseUrl });
  await page.addInitScript(instrument);
  const ana = await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const bo = await secondUser(page, baseUrl);
  const pb = bo.page;
  pb.on('pageerror', (e) => errors.push(`B: ${e}`));
  try {
    assert.equal(await pb.evaluate(() => Notification.permission), 'default');
    assert.equal(await pb.getByTestId('notify-prompt').count(), 0, 'nothing is offered on load');

    await openDm(page, bo.username);
    await send(page, 'Hello Bo');
    const item = pb.getByTestId('chat-item').filter({ hasText: ana.displayName });
    await item.click();
    await message(pb, 'Hello Bo').waitFor();

    // Bo's first message: the app offers notifications; "Not now" is remembered.
    await send(pb, 'Hi Ana');
    await pb.getByTestId('notify-prompt').waitFor();
    await pb.getByTestId('notify-dismiss').click();
    await pb.getByTestId('notify-prompt').waitFor({ state: 'detached' });
    await pb.reload();
    await send(pb, 'Still here');
    await message(page, 'Still here').waitFor();
    assert.equal(await pb.getByTestId('notify-prompt').count(), 0, '"Not now" is remembered');

    // Ana's tab is visible: no notification.
    assert.deepEqual(await notifications(page), []);

    // Ana leaves the chat and hides the tab; Bo writes: a notification.
    await page.getByTestId('brand').click();
    await page.getByTestId('welcome-name').waitFor();
    // @ts-expect-error set by instrument()
    await page.evaluate(() => window.__setHidden(true));
    await send(pb, 'Are you there?');
    // @ts-expect-error set by instrument()
    await waitUntil(page, () => window.__notifications.length > 0, 'a notification');
    const [note] = await notifications(page);
    assert.equal(note.title, bo.displayName);
    assert.equal(note.body, 'Are you there?');
    assert.match(note.tag ?? '', /^!/);

    // Clicking it opens the chat.
    // @ts-expect-error set by instrument()
    await page.evaluate(() => window.__clickNotification(0));
    await waitUntil(page, (n) => document.querySelector('[data-testid=chat-header-title]')?.textContent?.trim() === n, 'the chat opened from the notification', bo.displayName);
    await message(page, 'Are you there?').waitFor();

    // Visible again: no more notifications.
    // @ts-expect-error set by instrument()
    await page.evaluate(() => window.__setHidden(false));
    await send(pb, 'Good.');
    await message(page, 'Good.').waitFor();
    assert.equal((await notifications(page)).length, 1);
  } finally {
    await bo.context.close();
  }
  assert.deepEqual(errors, []);
}
