// Renders public/favicon.svg into the PNG icons of the web app manifest and favicon.ico, with
// Debian's Chromium through playwright-core (no image library needed). Run after changing the
// SVG: `node scripts/make-icons.mjs`; the outputs are committed.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const publicDir = fileURLToPath(new URL('../public/', import.meta.url));
const svg = await readFile(`${publicDir}favicon.svg`, 'utf8');
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });

/** @param {number} size @param {number} inset the share of each side left empty (maskable safe zone) */
async function render(size, inset = 0) {
  const page = await browser.newPage({ viewport: { width: size, height: size } });
  const pad = Math.round(size * inset);
  const background = inset > 0 ? '#3730a3' : 'transparent';
  await page.setContent(`<html><body style="margin:0;background:${background}"><div style="padding:${pad}px;width:${size - 2 * pad}px;height:${size - 2 * pad}px">${svg.replace('<svg ', '<svg width="100%" height="100%" ')}</div></body></html>`);
  const png = await page.screenshot({ omitBackground: inset === 0, clip: { x: 0, y: 0, width: size, height: size } });
  await page.close();
  return png;
}

/** An ICO holding PNG images (supported by every current browser). @param {{ size: number, png: Buffer }[]} images */
function ico(images) {
  const header = Buffer.alloc(6 + 16 * images.length);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(images.length, 4);
  let offset = header.length;
  images.forEach(({ size, png }, i) => {
    const at = 6 + 16 * i;
    header.writeUInt8(size >= 256 ? 0 : size, at);
    header.writeUInt8(size >= 256 ? 0 : size, at + 1);
    header.writeUInt16LE(1, at + 4);
    header.writeUInt16LE(32, at + 6);
    header.writeUInt32LE(png.length, at + 8);
    header.writeUInt32LE(offset, at + 12);
    offset += png.length;
  });
  return Buffer.concat([header, ...images.map((i) => i.png)]);
}

try {
  await writeFile(`${publicDir}icon-192.png`, await render(192));
  await writeFile(`${publicDir}icon-512.png`, await render(512));
  await writeFile(`${publicDir}icon-maskable-512.png`, await render(512, 0.1));
  await writeFile(`${publicDir}apple-touch-icon.png`, await render(180));
  await writeFile(`${publicDir}favicon.ico`, ico([{ size: 16, png: await render(16) }, { size: 32, png: await render(32) }, { size: 48, png: await render(48) }]));
} finally {
  await browser.close();
}
