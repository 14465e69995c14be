// Media across nodes, in the browser: alice on A sets an avatar, opens a direct chat with bob on
// B and sends him a photo and a voice message. In B's own web app bob sees the photo loaded from
// B's own origin (B fetched it from A and signs its own URLs) and rendered, plays the voice
// message from B, and sees alice's avatar, also from B.
import assert from 'node:assert/strict';

import { message, waitUntil } from './chat-support.mjs';
import { png } from './media-image.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'federation: a photo, a voice message and an avatar of A show and play for bob on B, from B';
export const needs = 'nodes';

/** Every wait of this test is bounded by this. */
const TIMEOUT = 20_000;

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

  const pb = await newPage('b');
  pb.setDefaultTimeout(TIMEOUT);
  pb.on('pageerror', (e) => errors.push(`B: ${e}`));
  await pb.setViewportSize({ width: 1200, height: 800 });
  /** Every media request of bob's page: the host it went to and its status. */
  /** @type {string[]} */
  const bobMedia = [];
  pb.on('response', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/media/')) bobMedia.push(`${r.status()} ${u.host}`);
  });
  const bob = await register(pb, nodes.b.baseUrl);
  await waitForConnection(pb, 'connected');
  const bobId = `@${bob.username}:${nodes.b.name}`;

  // Alice sets an avatar on A.
  await pa.goto(`${nodes.a.baseUrl}/settings/profile`);
  await pa.getByTestId('avatar-picker').waitFor();
  await pa.getByTestId('avatar-input').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png(160, 160, () => [210, 50, 50]) });
  await pa.getByTestId('avatar-saved').waitFor();
  await pa.goto(`${nodes.a.baseUrl}/`);
  await waitForConnection(pa, 'connected');

  // She opens the direct chat with bob by his whole id.
  await pa.getByTestId('new-dm').click();
  await pa.getByTestId('user-search').fill(bobId);
  await pa.getByTestId('user-remote').click();
  const opened = await Promise.race([
    pa.getByTestId('chat-view').waitFor().then(() => 'opened'),
    pa.getByTestId('new-dm-error').waitFor().then(() => 'error'),
  ]);
  if (opened === 'error') assert.fail(`opening the direct chat failed: ${(await pa.getByTestId('new-dm-error').textContent())?.trim()}`);
  await pa.getByTestId('composer').waitFor();

  // A photo with a caption.
  const photo = png(900, 600, (x, y) => [Math.round((x / 900) * 255), Math.round((y / 600) * 255), 120]);
  await pa.getByTestId('attach-input').setInputFiles([{ name: 'across.png', mimeType: 'image/png', buffer: photo }]);
  await waitUntil(
    pa,
    () => {
      const items = [...document.querySelectorAll('[data-testid=upload-item]')];
      return items.length === 1 && items.every((i) => i.getAttribute('data-status') === 'done');
    },
    'the upload finishes',
    undefined,
    TIMEOUT,
  );
  await pa.getByTestId('composer').fill('A photo from A');
  await pa.getByTestId('composer').press('Enter');
  await message(pa, 'A photo from A').waitFor();

  // A voice message (Chromium's fake microphone), tap to record, tap to send.
  await pa.getByTestId('voice-record').click();
  await waitUntil(pa, () => document.querySelector('[data-testid=voice-recorder]')?.getAttribute('data-phase') === 'recording', 'recording starts');
  await waitUntil(pa, () => document.querySelector('[data-testid=voice-elapsed]')?.textContent?.trim() === '0:02', 'two seconds recorded', undefined, 10_000);
  await pa.getByTestId('voice-send').click();
  await pa.locator('[data-testid=message][data-mine=true]', { has: pa.getByTestId('voice-player') }).waitFor();

  // Bob, on B, opens the chat.
  // His only chat: the direct chat with alice.
  const item = pb.getByTestId('chat-item').first();
  await item.waitFor();
  await item.click();
  const theirs = message(pb, 'A photo from A');
  await theirs.waitFor();

  // The photo: a loaded thumbnail, from B's own origin.
  await waitUntil(
    pb,
    () => {
      const img = /** @type {HTMLImageElement | null} */ (document.querySelector('[data-testid=attachment-image] img[data-testid=attachment-thumb]'));
      return img !== null && img.complete && img.naturalWidth > 0;
    },
    'the photo of A renders on B',
    undefined,
    TIMEOUT,
  );
  const src = await theirs.getByTestId('attachment-thumb').evaluate((i) => /** @type {HTMLImageElement} */ (i).src);
  assert.equal(new URL(src).host, nodes.b.name, `the photo comes from B: ${src}`);
  assert.match(new URL(src).pathname, /^\/api\/media\/[0-9a-f]{64}(\/thumb\/(320|1280))?$/);
  assert.equal(await theirs.getByTestId('media-unavailable').count(), 0);

  // The voice message plays, from B.
  const voice = pb.locator('[data-testid=message]', { has: pb.getByTestId('voice-player') });
  await voice.waitFor();
  await voice.getByTestId('voice-play').click();
  await waitUntil(
    pb,
    () => {
      const audio = /** @type {HTMLAudioElement | null} */ (document.querySelector('[data-testid=voice-element]'));
      return audio !== null && audio.currentTime > 0.5;
    },
    'the voice message plays on B (currentTime advances)',
    undefined,
    TIMEOUT,
  );
  const audio = await voice.getByTestId('voice-element').evaluate((a) => ({ error: /** @type {HTMLAudioElement} */ (a).error?.code ?? null, src: /** @type {HTMLAudioElement} */ (a).currentSrc }));
  assert.equal(audio.error, null);
  assert.equal(new URL(audio.src).host, nodes.b.name, `the voice message comes from B: ${audio.src}`);

  // Alice's avatar, in the chat's header on B, from B.
  await waitUntil(
    pb,
    () => {
      const img = /** @type {HTMLImageElement | null} */ (document.querySelector('[data-testid=chat-view] header [data-testid=avatar-img]'));
      return img !== null && img.complete && img.naturalWidth > 0;
    },
    "alice's avatar shows in bob's chat header",
    undefined,
    TIMEOUT,
  );
  const avatar = await pb.locator('[data-testid=chat-view] header [data-testid=avatar-img]').evaluate((i) => /** @type {HTMLImageElement} */ (i).src);
  assert.equal(new URL(avatar).host, nodes.b.name, `the avatar comes from B: ${avatar}`);

  // Every media request of bob's went to B and was served.
  assert.ok(bobMedia.length >= 3, `media requests: ${bobMedia.join(', ')}`);
  for (const r of bobMedia) assert.match(r, new RegExp(`^(200|206|304) ${nodes.b.name.replace(/\./g, '\\.')}$`), r);
  assert.deepEqual(errors, []);
}
