// Writes a brotli (`.br`) and a gzip (`.gz`) copy next to each compressible file of a build, so
// the node serves them as they are (tower-http's precompressed ServeDir) instead of compressing
// on every request or not at all.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);

/** Text-like formats; images, audio and woff2 are compressed already. */
const COMPRESSIBLE = new Set(['.js', '.mjs', '.css', '.html', '.svg', '.json', '.webmanifest', '.txt', '.xml', '.ico', '.ttf', '.otf', '.wasm']);

/** Below this a compressed copy saves less than a packet. */
const MIN_BYTES = 1024;

/**
 * Compresses every compressible file under `dir` (recursively). A copy is kept only when it is
 * at least 5 % smaller than the file.
 * @param {string} dir
 * @returns {Promise<{ files: number, bytes: number, brotliBytes: number }>}
 */
export async function precompress(dir) {
  const totals = { files: 0, bytes: 0, brotliBytes: 0 };
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !COMPRESSIBLE.has(extname(entry.name))) continue;
    const path = join(entry.parentPath, entry.name);
    const data = await readFile(path);
    if (data.length < MIN_BYTES) continue;
    const [br, gzipped] = await Promise.all([
      brotli(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } }),
      gz(data, { level: 9 }),
    ]);
    const worthIt = (/** @type {Buffer} */ copy) => copy.length <= data.length * 0.95;
    if (worthIt(br)) await writeFile(`${path}.br`, br);
    if (worthIt(gzipped)) await writeFile(`${path}.gz`, gzipped);
    totals.files += 1;
    totals.bytes += data.length;
    totals.brotliBytes += worthIt(br) ? br.length : data.length;
  }
  return totals;
}
