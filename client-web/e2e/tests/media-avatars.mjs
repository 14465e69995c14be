// Avatars and group photos: a user uploads a profile photo and the owner a group photo; the other
// user sees the group photo in the directory, the chat list and the chat header, and the
// sender's avatar beside their messages and in the member list. Removing the photo brings the
// initials back.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { message, secondUser, send, waitUntil } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'media: profile avatars and group photos show wherever people and groups do';
export const needs = 'node';

/**
 * A PNG of one colour, drawn by the browser.
 * @param {import('playwright-core').Page} page
 * @param {string} colour
 */
async function png(page, colour) {
  const bytes = await page.evaluate(async (c) => {
    const canvas = document.createElement('canvas');
    canvas.width = 160;
    canvas.height = 160;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2d context');
    ctx.fillStyle = c;
    ctx.fillRect(0, 0, 160, 160);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
    return Array.from(new Uint8Array(await /** @type {Blob} */ (blob).arrayBuffer()));
  }, colour);
  return Buffer.from(bytes);
}

/**
 * Waits until an avatar inside `scope` (a selector) shows a loaded image.
 * @param {import('playwright-core').Page} page
 * @param {string} scope
 * @param {string} what
 */
function avatarLoaded(page, scope, what) {
  return waitUntil(
    page,
    (/** @type {string} */ sel) => {
      const img = /** @type {HTMLImageElement | null} */ (document.querySelector(`${sel} [data-testid=avatar-img]`));
      return img !== null && img.complete && img.naturalWidth > 0 && /\/api\/media\/[0-9a-f]{64}\/thumb\/(96|320)\?/.test(img.src);
    },
    what,
    scope,
  );
}

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(`owner: ${e}`));
  await page.setViewportSize({ width: 1200, height: 800 });
  const owner = await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const dir = await mkdtemp(join(tmpdir(), 'winichat-e2e-avatar-'));
  const other = await secondUser(page, baseUrl);
  const po = other.page;
  po.on('pageerror', (e) => errors.push(`other: ${e}`));
  try {
    const red = join(dir, 'me.png');
    const blue = join(dir, 'group.png');
    await writeFile(red, await png(page, '#d33'));
    await writeFile(blue, await png(page, '#33d'));

    // The owner sets a profile photo.
    await page.goto(`${baseUrl}/settings/profile`);
    await page.getByTestId('avatar-picker').waitFor();
    await page.getByTestId('avatar-input').setInputFiles(red);
    await page.getByTestId('avatar-saved').waitFor();
    await avatarLoaded(page, '[data-testid=avatar-picker]', 'my new avatar shows in the profile');

    // … creates a public group and gives it a photo in the info tab.
    const handle = `pic_${Math.random().toString(36).slice(2, 8)}`;
    const groupName = `Pictures ${handle}`;
    await page.goto(`${baseUrl}/`);
    await page.getByTestId('new-group').click();
    await page.getByTestId('group-name').fill(groupName);
    await page.getByTestId('group-public').check();
    await page.getByTestId('group-handle').fill(handle);
    await page.getByTestId('group-create').click();
    await page.getByTestId('chat-view').waitFor();
    await page.getByTestId('group-info').click();
    await page.getByTestId('group-panel').waitFor();
    await page.getByTestId('group-photo-input').setInputFiles(blue);
    await page.getByTestId('group-photo-saved').waitFor();
    await avatarLoaded(page, '[data-testid=group-photo-picker]', 'the group photo shows in the info tab');
    await page.getByTestId('group-panel-close').click();
    await avatarLoaded(page, '[data-testid=chat-view] header', 'the group photo shows in the chat header');
    await avatarLoaded(page, `[data-testid=chat-item][data-group="${await page.getByTestId('chat-item').first().getAttribute('data-group')}"]`, 'the group photo shows in the chat list');

    // The other user finds it in the directory with its photo, joins, and sees the photo.
    await po.getByTestId('nav-directory').click();
    await po.getByTestId('directory-search').fill(handle);
    const entry = po.locator(`[data-testid=directory-entry][data-handle^="#${handle}:"]`);
    await entry.waitFor();
    await avatarLoaded(po, `[data-testid=directory-entry][data-handle^="#${handle}:"]`, 'the group photo shows in the directory');
    await entry.getByTestId('directory-join').click();
    await po.getByTestId('chat-view').waitFor();
    await avatarLoaded(po, '[data-testid=chat-view] header', "the other user sees the group's photo in the header");

    // The owner writes: the other sees the owner's avatar beside the message …
    await send(page, 'Hello with a face');
    const msg = message(po, 'Hello with a face');
    await msg.waitFor();
    const seq = await msg.getAttribute('data-seq');
    await avatarLoaded(po, `[data-testid=message][data-seq="${seq}"]`, "the sender's avatar shows beside the message");
    assert.equal(await msg.getByTestId('avatar').getAttribute('data-has-image'), 'true');

    // … and in the member list.
    await po.getByTestId('group-info').click();
    await po.getByTestId('group-tab-members').click();
    const row = po.locator('[data-testid=member-row]', { hasText: owner.displayName });
    await row.waitFor();
    await avatarLoaded(po, `[data-testid=member-row][data-user="${await row.getAttribute('data-user')}"]`, "the owner's avatar shows in the member list");
    // The other user has no photo: initials.
    const mine = po.locator('[data-testid=member-row]', { hasText: other.displayName });
    assert.equal(await mine.getByTestId('avatar').getAttribute('data-has-image'), null);
    await po.getByTestId('group-panel-close').click();

    // The owner removes the group photo: initials again for the other user.
    await page.getByTestId('group-info').click();
    await page.getByTestId('group-photo-remove').click();
    await page.getByTestId('group-photo-saved').waitFor();
    await waitUntil(po, () => document.querySelector('[data-testid=chat-view] header [data-testid=avatar]')?.getAttribute('data-has-image') === null, 'the removed group photo gives way to initials');
    assert.deepEqual(errors, []);
  } finally {
    await other.context.close();
    await rm(dir, { recursive: true, force: true });
  }
}
