// Images in a DM: Ana attaches two pictures with a caption; Bo sees them as thumbnails in a grid
// (loaded from signed thumbnail URLs), opens the lightbox on the first (the original, full
// size), goes next and back with the buttons and the arrow keys, zooms, sees the download link,
// and closes with Escape (focus returns to the tile).
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';

import { message, openDm, secondUser, waitUntil } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'media: an image sent in a DM shows as a thumbnail and opens in the lightbox';
export const needs = 'node';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** @param {Buffer} bytes */
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** @param {string} type @param {Buffer} data */
function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A real RGB PNG of `width × height`, coloured by `colour(x, y)` (a gradient, so thumbnails and
 * the blurhash have something to show).
 * @param {number} width @param {number} height @param {(x: number, y: number) => [number, number, number]} colour
 */
export function png(width, height, colour) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      const [r, g, b] = colour(x, y);
      raw[row + 1 + x * 3] = r;
      raw[row + 2 + x * 3] = g;
      raw[row + 3 + x * 3] = b;
    }
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
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
  /** @type {string[]} */
  const mediaStatuses = [];
  pb.on('response', (r) => {
    if (new URL(r.url()).pathname.startsWith('/api/media/')) mediaStatuses.push(`${r.status()} ${new URL(r.url()).pathname}`);
  });
  try {
    await openDm(page, bo.username);

    // Ana attaches a landscape and a portrait picture and sends them with a caption.
    const landscape = png(1600, 1000, (x, y) => [Math.round((x / 1600) * 255), Math.round((y / 1000) * 255), 160]);
    const portrait = png(600, 900, (x, y) => [40, Math.round((x / 600) * 255), Math.round((y / 900) * 255)]);
    await page.getByTestId('attach-input').setInputFiles([
      { name: 'landscape.png', mimeType: 'image/png', buffer: landscape },
      { name: 'portrait.png', mimeType: 'image/png', buffer: portrait },
    ]);
    await waitUntil(
      page,
      () => {
        const items = [...document.querySelectorAll('[data-testid=upload-item]')];
        return items.length === 2 && items.every((i) => i.getAttribute('data-status') === 'done');
      },
      'both uploads finish',
      undefined,
      30_000,
    );
    await page.getByTestId('composer').fill('Two pictures');
    await page.getByTestId('composer').press('Enter');
    const mine = message(page, 'Two pictures');
    await mine.waitFor({ timeout: 20_000 });
    assert.equal(await mine.getByTestId('attachment-image').count(), 2);

    // Bo opens the chat: two tiles, each a loaded thumbnail (not the original).
    await pb.getByTestId('chat-item').filter({ hasText: ana.displayName }).click();
    const theirs = message(pb, 'Two pictures');
    await theirs.waitFor();
    const tiles = theirs.getByTestId('attachment-image');
    assert.equal(await tiles.count(), 2);
    await waitUntil(
      pb,
      () => {
        const imgs = /** @type {HTMLImageElement[]} */ ([...document.querySelectorAll('[data-testid=attachment-image] img[data-testid=attachment-thumb]')]);
        return imgs.length === 2 && imgs.every((i) => i.complete && i.naturalWidth > 0);
      },
      'both thumbnails load',
      undefined,
      20_000,
    );
    const thumbs = await theirs.getByTestId('attachment-thumb').evaluateAll((imgs) =>
      imgs.map((i) => ({ src: /** @type {HTMLImageElement} */ (i).getAttribute('src') ?? '', w: /** @type {HTMLImageElement} */ (i).naturalWidth })),
    );
    for (const t of thumbs) {
      assert.match(t.src, /^\/api\/media\/[0-9a-f]{64}\/thumb\/(320|1280)\?exp=\d+&sig=[\w-]+$/, `a signed thumbnail URL: ${t.src}`);
      assert.ok(t.w <= 1280, `a thumbnail, not the original: ${t.w} px wide`);
    }
    // The caption sits under the media.
    const order = await theirs.evaluate((m) => {
      const grid = m.querySelector('[data-testid=attachments]');
      const text = m.querySelector('[data-testid=message-text]');
      return grid && text ? grid.compareDocumentPosition(text) & Node.DOCUMENT_POSITION_FOLLOWING : 0;
    });
    assert.ok(order, 'the caption follows the media');

    // The first tile opens the lightbox with the original image.
    await tiles.first().click();
    const box = pb.getByTestId('lightbox');
    await box.waitFor();
    assert.equal(await box.getAttribute('role'), 'dialog');
    assert.equal((await box.getByTestId('lightbox-counter').textContent())?.trim(), '1 / 2');
    /** @param {number} width */
    const originalLoaded = (width) =>
      waitUntil(
        pb,
        (/** @type {number} */ w) => {
          const img = /** @type {HTMLImageElement | null} */ (document.querySelector('[data-testid=lightbox-image]'));
          return img !== null && img.complete && img.naturalWidth === w && !(img.getAttribute('src') ?? '').includes('/thumb/');
        },
        `the original (${width} px wide) shows in the lightbox`,
        width,
        20_000,
      );
    await originalLoaded(1600);
    assert.equal(await pb.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'lightbox-close');
    const download = await box.getByTestId('lightbox-download').getAttribute('href');
    assert.match(download ?? '', /^\/api\/media\/[0-9a-f]{64}\?exp=\d+&sig=[\w-]+&dl=1&name=landscape\.png$/);

    // Next with the button, back with the arrow key.
    await box.getByTestId('lightbox-next').click();
    assert.equal((await box.getByTestId('lightbox-counter').textContent())?.trim(), '2 / 2');
    await originalLoaded(600);
    assert.equal(await box.getByTestId('lightbox-next').isDisabled(), true);
    await pb.keyboard.press('ArrowLeft');
    assert.equal((await box.getByTestId('lightbox-counter').textContent())?.trim(), '1 / 2');
    await pb.keyboard.press('ArrowRight');
    assert.equal((await box.getByTestId('lightbox-counter').textContent())?.trim(), '2 / 2');
    await box.getByTestId('lightbox-prev').click();
    assert.equal((await box.getByTestId('lightbox-counter').textContent())?.trim(), '1 / 2');

    // Zoom in with the button and a double-click; zoom out.
    await box.getByTestId('lightbox-zoom-in').click();
    assert.equal((await box.getByTestId('lightbox-zoom-level').textContent())?.trim(), '150%');
    await box.getByTestId('lightbox-zoom-out').click();
    assert.equal((await box.getByTestId('lightbox-zoom-level').textContent())?.trim(), '100%');
    await box.getByTestId('lightbox-picture').dblclick();
    assert.equal((await box.getByTestId('lightbox-zoom-level').textContent())?.trim(), '250%');

    // Escape closes; focus goes back to the tile.
    await pb.keyboard.press('Escape');
    await box.waitFor({ state: 'detached' });
    assert.equal(await pb.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'attachment-image');

    // Every media request Bo made was served (thumbnails 200, originals 200/206).
    assert.ok(mediaStatuses.length >= 3, `media requests: ${mediaStatuses.join(', ')}`);
    for (const s of mediaStatuses) assert.match(s, /^(200|206|304) /, s);
    assert.deepEqual(errors, []);
  } finally {
    await bo.context.close();
  }
}
