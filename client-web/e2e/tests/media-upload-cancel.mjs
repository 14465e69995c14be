// A large upload shows a progress bar that advances and can be cancelled: the request is
// aborted, the row disappears and no message is posted. The upload is throttled (Chromium's
// network emulation) so progress is observable on a fast loopback.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openDm, secondUser, waitUntil } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'media: an upload shows its progress and can be cancelled';
export const needs = 'node';

const SIZE = 40 * 1024 * 1024;

/** @param {import('playwright-core').Page} page */
function progressOf(page) {
  return page.evaluate(() => {
    const bar = /** @type {HTMLProgressElement | null} */ (document.querySelector('[data-testid=upload-item] [data-testid=upload-progress]'));
    return bar ? Number(bar.value) : -1;
  });
}

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(`A: ${e}`));
  await page.setViewportSize({ width: 1200, height: 800 });
  await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const bo = await secondUser(page, baseUrl);
  // A 40 MB file on disk: handed to the file input by path (a buffer that large is slow to pass).
  const dir = await mkdtemp(join(tmpdir(), 'winichat-e2e-upload-'));
  const big = join(dir, 'big-file.bin');
  await writeFile(big, Buffer.alloc(SIZE, 7));
  try {
    await openDm(page, bo.username);

    // Uploads crawl at ~2 MB/s (40 MB: ~20 s) so the bar can be watched.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2 * 1024 * 1024 });

    /** @type {string[]} */
    const uploads = [];
    /** @type {string[]} */
    const failedUploads = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/media') uploads.push(r.url());
    });
    page.on('requestfailed', (r) => {
      if (new URL(r.url()).pathname === '/api/media') failedUploads.push(r.failure()?.errorText ?? '');
    });

    await page.getByTestId('attach-input').setInputFiles(big);
    const item = page.getByTestId('upload-item');
    await item.waitFor();
    assert.equal(await item.getAttribute('data-status'), 'uploading');
    assert.equal((await item.getByTestId('upload-name').textContent())?.trim(), 'big-file.bin');
    assert.equal((await item.getByTestId('upload-size').textContent())?.trim(), '40 MB'); // 40 MiB, in the binary units the app shows everywhere
    await item.getByTestId('upload-cancel').waitFor();
    // Sending waits for the upload; typing a caption meanwhile works.
    await page.getByTestId('composer').fill('caption while uploading');
    assert.equal(await page.getByTestId('send').isDisabled(), true);

    // The bar advances: above 0 %, then higher still, and far from done.
    await waitUntil(page, () => Number(/** @type {HTMLProgressElement | null} */ (document.querySelector('[data-testid=upload-progress]'))?.value ?? 0) > 0, 'the progress bar leaves 0 %', undefined, 20_000);
    const first = await progressOf(page);
    await waitUntil(page, (/** @type {number} */ p) => Number(/** @type {HTMLProgressElement | null} */ (document.querySelector('[data-testid=upload-progress]'))?.value ?? 0) > p, 'the progress bar advances', first, 20_000);
    const second = await progressOf(page);
    assert.ok(second > first && second < 95, `progress ${first} % → ${second} %`);
    assert.match((await item.getByTestId('upload-status').textContent()) ?? '', /^\d+%$/);

    // Cancel: the row goes, the request is aborted, nothing is posted.
    await item.getByTestId('upload-cancel').click();
    await item.waitFor({ state: 'detached' });
    await waitUntil(page, () => document.querySelectorAll('[data-testid=upload-item]').length === 0, 'the upload row is removed');
    assert.equal(uploads.length, 1);
    await page.waitForTimeout(300);
    assert.equal(failedUploads.length, 1, 'the upload request was aborted');
    assert.match(failedUploads[0] ?? '', /ABORTED/i);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

    // The caption stays in the box; no message went to either side.
    assert.equal(await page.getByTestId('composer').inputValue(), 'caption while uploading');
    await page.waitForTimeout(1_000);
    assert.equal(await page.locator('[data-testid=message]').count(), 0);
    const chatForBo = bo.page.getByTestId('chat-item');
    if ((await chatForBo.count()) > 0) {
      await chatForBo.first().click();
      await bo.page.getByTestId('chat-view').waitFor();
      await bo.page.waitForTimeout(500);
      assert.equal(await bo.page.locator('[data-testid=message]').count(), 0);
    }

    // The composer still works: the caption goes as a plain message.
    await page.getByTestId('composer').press('Enter');
    await page.locator('[data-testid=message]').first().waitFor();
    assert.equal(await page.locator('[data-testid=message]').count(), 1);
    assert.deepEqual(errors, []);
  } finally {
    await bo.context.close();
    await rm(dir, { recursive: true, force: true });
  }
}
