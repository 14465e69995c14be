import type { Plugin } from 'vite';

/** The fields of Emojibase's entries the picker reads (src/components/emoji/catalog.ts). */
const KEPT = ['emoji', 'label', 'tags', 'group', 'order', 'version'] as const;

/**
 * Cuts Emojibase's English `data.json` (775 kB: skin tone variants, shortcodes, code points) to
 * what the picker reads (about 250 kB, 50 kB gzipped), in the lazily loaded chunk. Runs before
 * Vite's JSON plugin, so the result is still JSON.
 */
export function emojiData(): Plugin {
  return {
    name: 'winichat:emoji-data',
    enforce: 'pre',
    transform(code, id) {
      if (!/emojibase-data[\\/]en[\\/]data\.json$/.test(id.split('?')[0] ?? '')) return null;
      const entries = JSON.parse(code) as Record<string, unknown>[];
      const cut = entries
        // Group 2 holds the skin tone and hair components; entries without a group are not picked.
        .filter((e) => typeof e.group === 'number' && e.group !== 2)
        .map((e) => Object.fromEntries(KEPT.map((k) => [k, e[k]])));
      return { code: JSON.stringify(cut), map: null };
    },
  };
}
