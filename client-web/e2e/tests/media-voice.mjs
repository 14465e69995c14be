// A voice message recorded with Chromium's fake microphone (run.mjs launches it with
// --use-fake-device-for-media-stream --use-fake-ui-for-media-stream): tap the mic, speak (a beep),
// tap send; the other user gets a voice message with a waveform and it plays.
import assert from 'node:assert/strict';

import { openDm, secondUser, waitUntil } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'media: a recorded voice message plays for the other user';
export const needs = 'node';

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
  try {
    await openDm(page, bo.username);

    // Tap the mic: hands-free recording with the time and a live level meter.
    const recorder = page.getByTestId('voice-recorder');
    await page.getByTestId('voice-record').click();
    await waitUntil(page, () => document.querySelector('[data-testid=voice-recorder]')?.getAttribute('data-phase') === 'recording', 'recording starts');
    assert.equal(await recorder.getAttribute('data-mode'), 'tap');
    await waitUntil(page, () => document.querySelector('[data-testid=voice-elapsed]')?.textContent?.trim() === '0:02', 'two seconds recorded', undefined, 10_000);
    await waitUntil(page, () => Number(document.querySelector('[data-testid=voice-level]')?.getAttribute('data-level') ?? 0) > 0, 'the level meter moves');
    // The composer's box and send button give way to the recorder meanwhile.
    assert.equal(await page.getByTestId('composer').isVisible(), false);
    await page.getByTestId('voice-send').click();

    // It uploads, then is posted on its own: Ana sees her voice message.
    const mine = page.locator('[data-testid=message][data-mine=true]', { has: page.getByTestId('voice-player') });
    await mine.waitFor({ timeout: 20_000 });
    await waitUntil(page, () => document.querySelectorAll('[data-testid=upload-item]').length === 0, 'the tray empties');
    assert.equal(await page.getByTestId('composer').isVisible(), true);

    // Bo opens the chat and sees it with its waveform and length.
    const item = pb.getByTestId('chat-item').filter({ hasText: ana.displayName });
    await item.waitFor();
    await item.click();
    const voice = pb.locator('[data-testid=message]', { has: pb.getByTestId('voice-player') });
    await voice.waitFor();
    const player = voice.getByTestId('voice-player');
    assert.ok((await player.getByTestId('voice-bar').count()) >= 16, 'a waveform is drawn');
    const heights = await player.getByTestId('voice-bar').evaluateAll((bars) => bars.map((b) => /** @type {HTMLElement} */ (b).style.height));
    assert.ok(new Set(heights).size > 1, `the waveform has a shape: ${heights.join(' ')}`);
    assert.match((await player.getByTestId('voice-time').textContent()) ?? '', /0:0[0-9] \/ 0:0[2-4]/);

    // It plays: the audio element's time advances and the player says so.
    await player.getByTestId('voice-play').click();
    await waitUntil(pb, () => document.querySelector('[data-testid=voice-player]')?.getAttribute('data-playing') === 'true', 'the player shows playing');
    await waitUntil(
      pb,
      () => {
        const audio = /** @type {HTMLAudioElement | null} */ (document.querySelector('[data-testid=voice-element]'));
        return audio !== null && audio.currentTime > 0.5;
      },
      'the audio plays (currentTime advances)',
      undefined,
      10_000,
    );
    const audio = await pb.getByTestId('voice-element').evaluate((a) => {
      const el = /** @type {HTMLAudioElement} */ (a);
      return { error: el.error?.code ?? null, src: el.currentSrc };
    });
    assert.equal(audio.error, null);
    assert.match(audio.src, /\/api\/media\/[0-9a-f]{64}\?/);

    // Press and hold records; releasing sends a second one.
    const mic = page.getByTestId('voice-record');
    const box = await mic.boundingBox();
    if (!box) throw new Error('no mic button');
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await waitUntil(page, () => document.querySelector('[data-testid=voice-recorder]')?.getAttribute('data-phase') === 'recording', 'recording while held');
    assert.equal(await recorder.getAttribute('data-mode'), 'hold');
    await page.waitForTimeout(1_500);
    await page.mouse.up();
    await waitUntil(page, () => document.querySelectorAll('[data-testid=message][data-mine=true] [data-testid=voice-player]').length === 2, 'the held recording is sent', undefined, 20_000);
    await waitUntil(pb, () => document.querySelectorAll('[data-testid=voice-player]').length === 2, 'the other user gets the second voice message');
    assert.deepEqual(errors, []);
  } finally {
    await bo.context.close();
  }
}
