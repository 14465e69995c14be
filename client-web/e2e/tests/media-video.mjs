// A video in a DM: Ana attaches testkit's clip.webm (VP8 + Opus, ~2 s); Bo sees the app's own
// player (poster, elapsed/total), plays it (currentTime advances), seeks with the seek bar
// (currentTime jumps; the node answers the browser's Range requests with 206) and pauses.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

import { message, openDm, secondUser, waitUntil } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'media: a video plays and seeks with the app player';
export const needs = 'node';

const CLIP = fileURLToPath(new URL('../../../testkit/fixtures/media/clip.webm', import.meta.url));

/** @param {import('playwright-core').Page} page */
function videoState(page) {
  return page.getByTestId('video-element').evaluate((v) => {
    const el = /** @type {HTMLVideoElement} */ (v);
    return { t: el.currentTime, d: el.duration, paused: el.paused, error: el.error?.code ?? null, ready: el.readyState, src: el.currentSrc, poster: el.getAttribute('poster') };
  });
}

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(`A: ${e}`));
  await page.setViewportSize({ width: 1200, height: 800 });
  const ana = await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const bo = await secondUser(page, baseUrl);
  const pb = bo.page;
  pb.on('pageerror', (e) => errors.push(`B: ${e}`));
  /** @type {{ status: number, range: string | undefined, contentRange: string | undefined }[]} */
  const videoResponses = [];
  pb.on('response', async (r) => {
    const path = new URL(r.url()).pathname;
    if (!/^\/api\/media\/[0-9a-f]{64}$/.test(path)) return;
    /** @type {Record<string, string>} */
    const none = {};
    const headers = await r.allHeaders().catch(() => none);
    const request = await r.request().allHeaders().catch(() => none);
    videoResponses.push({ status: r.status(), range: request.range, contentRange: headers['content-range'] });
  });
  try {
    await openDm(page, bo.username);

    await page.getByTestId('attach-input').setInputFiles(CLIP);
    await waitUntil(page, () => document.querySelector('[data-testid=upload-item]')?.getAttribute('data-status') === 'done', 'the clip uploads', undefined, 30_000);
    await page.getByTestId('composer').fill('A clip');
    await page.getByTestId('composer').press('Enter');
    await message(page, 'A clip').waitFor({ timeout: 20_000 });

    await pb.getByTestId('chat-item').filter({ hasText: ana.displayName }).click();
    const msg = message(pb, 'A clip');
    await msg.waitFor();
    const player = msg.getByTestId('video-player');
    await player.waitFor();
    // preload=metadata: the length is known before playing; the poster frame is the sender's.
    assert.equal(await player.getByTestId('video-element').getAttribute('preload'), 'metadata');
    await waitUntil(pb, () => Number(/** @type {HTMLVideoElement | null} */ (document.querySelector('[data-testid=video-element]'))?.readyState ?? 0) >= 1, 'the metadata loads', undefined, 15_000);
    const before = await videoState(pb);
    assert.match(before.src, /^https?:\/\/[^/]+\/api\/media\/[0-9a-f]{64}\?exp=\d+&sig=[\w-]+$/);
    assert.ok(before.d > 1.5 && before.d < 3, `duration ${before.d}`);
    assert.match(before.poster ?? '', /^\/api\/media\/[0-9a-f]{64}\/thumb\/(320|1280)\?/, 'the poster is the 320/1280 thumbnail of the poster frame');
    assert.match((await player.getByTestId('video-time').textContent()) ?? '', /^0:00 \/ 0:02$/);

    // Play: the time advances and the controls say so.
    await player.getByTestId('video-play').click();
    await waitUntil(pb, () => Number(/** @type {HTMLVideoElement | null} */ (document.querySelector('[data-testid=video-element]'))?.currentTime ?? 0) > 0.3, 'the video plays (currentTime advances)', undefined, 10_000);
    assert.equal(await player.getAttribute('data-playing'), 'true');
    assert.equal(await player.getByTestId('video-play').getAttribute('aria-label'), 'Pause');
    await player.getByTestId('video-play').click();
    await waitUntil(pb, () => /** @type {HTMLVideoElement | null} */ (document.querySelector('[data-testid=video-element]'))?.paused === true, 'the video pauses');

    // Seek with the seek bar: a click at 80 % of its width jumps there.
    const seek = player.getByTestId('video-seek');
    await player.hover();
    const bar = await seek.boundingBox();
    assert.ok(bar, 'the seek bar is visible');
    await seek.click({ position: { x: bar.width * 0.8, y: bar.height / 2 } });
    await waitUntil(
      pb,
      () => {
        const v = /** @type {HTMLVideoElement | null} */ (document.querySelector('[data-testid=video-element]'));
        return v !== null && v.currentTime > v.duration * 0.6 && !v.seeking;
      },
      'currentTime jumps to ~80 %',
      undefined,
      10_000,
    );
    const after = await videoState(pb);
    assert.ok(after.t > 1.2, `seeked to ${after.t}`);
    assert.match((await player.getByTestId('video-time').textContent()) ?? '', /^0:01 \/ 0:02$/);
    // The keyboard seeks too: Home-less players use ←; focus the player and step back.
    await seek.press('ArrowLeft');
    await waitUntil(pb, () => Number(/** @type {HTMLVideoElement | null} */ (document.querySelector('[data-testid=video-element]'))?.currentTime ?? 9) < 0.5, '← seeks back 5 s (to the start)');
    assert.equal(after.error, null);

    // The browser fetched the video with Range requests, answered 206 with a Content-Range.
    const ranged = videoResponses.filter((r) => r.status === 206);
    assert.ok(ranged.length > 0, `206 responses: ${JSON.stringify(videoResponses)}`);
    for (const r of ranged) assert.match(r.contentRange ?? '', /^bytes \d+-\d+\/\d+$/);
    assert.ok(videoResponses.every((r) => r.status === 200 || r.status === 206 || r.status === 304), JSON.stringify(videoResponses));
    assert.deepEqual(errors, []);
  } finally {
    await bo.context.close();
  }
}
