import { fileURLToPath, URL } from 'node:url';

import tailwindcss from '@tailwindcss/vite';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

import { emojiData } from './vite-plugins/emoji-data';
import { precompressed } from './vite-plugins/precompress';

/** Where `npm run dev` forwards the node's own paths: a `winichat serve` on its default port. */
const NODE = process.env.WINICHAT_NODE ?? 'http://127.0.0.1:7800';

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
