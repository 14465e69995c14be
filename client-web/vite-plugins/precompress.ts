import { readdir, readFile, writeFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

import type { Plugin } from 'vite';

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);

/** Text-like formats; images, audio and woff2 are compressed already. */
const COMPRESSIBLE = new Set(['.js', '.mjs', '.css', '.html', '.svg', '.json', '.webmanifest', '.txt', '.xml', '.ico', '.ttf', '.otf', '.wasm']);

/** Below this a compressed copy saves less than a packet. */
const MIN_BYTES = 1024;

/**
 * Writes a brotli (`.br`) and a gzip (`.gz`) copy next to each compressible file under `dir`,
 * kept only when at least 5 % smaller than the file, so the node serves them as they are
 * (tower-http's precompressed ServeDir) instead of compressing per request or not at all.
 */
export async function precompress(dir: string): Promise<{ files: number; bytes: number; brotliBytes: number }> {
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
    const worthIt = (copy: Buffer) => copy.length <= data.length * 0.95;
    if (worthIt(br)) await writeFile(`${path}.br`, br);
    if (worthIt(gzipped)) await writeFile(`${path}.gz`, gzipped);
    totals.files += 1;
    totals.bytes += data.length;
    totals.brotliBytes += worthIt(br) ? br.length : data.length;
  }
  return totals;
}

/** After a build, brotli and gzip copies of the text assets for the node to serve as they are. */
export function precompressed(): Plugin {
  let outDir = '';
  return {
    name: 'winichat:precompress',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    async closeBundle() {
      const { files, bytes, brotliBytes } = await precompress(outDir);
      this.info(`precompressed ${files} files: ${(bytes / 1024).toFixed(0)} KiB → ${(brotliBytes / 1024).toFixed(0)} KiB with brotli`);
    },
  };
}
