import { resolve } from 'node:path';
import { fileURLToPath, URL } from 'node:url';

import tailwindcss from '@tailwindcss/vite';
import vue from '@vitejs/plugin-vue';
import { defineConfig, type Plugin } from 'vite';

import { precompress } from './build/precompress.mjs';

import { emojiData } from './vite-plugins/emoji-data';

/** Where `npm run dev` forwards the node's own paths: a `winichat serve` on its default port. */
const NODE = process.env.WINICHAT_NODE ?? 'http://127.0.0.1:7800';

/** After a build, brotli and gzip copies of the text assets for the node to serve as they are. */
function precompressed(): Plugin {
  let outDir = '';
  return {
    name: 'winichat-precompress',
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

export default defineConfig({
  plugins: [vue(), tailwindcss(), emojiData(), precompressed()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  server: {
    proxy: {
      '/api': NODE,
      '/ws': { target: NODE, ws: true },
      '/healthz': NODE,
      '/.well-known': NODE,
    },
  },
  build: {
    // The node serves dist/ at `/`: hashed assets under assets/ get long cache headers.
    outDir: 'dist',
    emptyOutDir: true,
  },
});
