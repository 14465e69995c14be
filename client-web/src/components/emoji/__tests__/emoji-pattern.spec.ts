import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import ts from 'typescript';
import { afterEach, describe, expect, it, vi } from 'vitest';

import data from 'emojibase-data/en/data.json';

import { emojiRegExp, FALLBACK_EMOJI_SOURCE, RGI_EMOJI_SOURCE, type RegExpMaker } from '../emoji-pattern';

/** A browser without the `v` flag: such a RegExp is a SyntaxError. */
const withoutVFlag: RegExpMaker = (source, flags) => {
  if (flags.includes('v')) throw new SyntaxError(`Invalid flags supplied to RegExp constructor '${flags}'`);
  return new RegExp(source, flags);
};

const whole = (p: string) => `^(?:${p})$`;

/** Every emoji of Emojibase's data, with skin tones, as written and without a final U+FE0F. */
function everyEmoji(): string[] {
  const out: string[] = [];
  for (const e of data as unknown as { emoji: string; skins?: { emoji: string }[] }[]) {
    for (const s of [e.emoji, ...(e.skins ?? []).map((k) => k.emoji)]) out.push(s, s.replace(/\uFE0F$/, ''));
  }
  return out;
}

describe('emojiRegExp', () => {
  it('uses \\p{RGI_Emoji} with the v flag where the browser has it', () => {
    const re = emojiRegExp('y');
    expect(re.source).toBe(RGI_EMOJI_SOURCE);
    expect(re.flags).toBe('vy');
  });

  it('falls back to a u-flag pattern where the v flag is a SyntaxError', () => {
    const re = emojiRegExp('y', undefined, withoutVFlag);
    expect(re.source).toBe(FALLBACK_EMOJI_SOURCE);
    expect(re.flags).toBe('uy');
    const one = emojiRegExp('', whole, withoutVFlag);
    for (const e of ['👍', '👍🏽', '✌🏻', '🇫🇷', '1️⃣', '👨‍👩‍👧', '🏳️‍🌈', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '❤️', '😶‍🌫️']) expect(one.test(e), e).toBe(true);
    for (const t of ['a', '1', '#', '©', '❤', '🇫', '👍👍', '\u200D']) expect(one.test(t), JSON.stringify(t)).toBe(false);
  });

  it('falls back to a pattern that agrees with RGI on every emoji of the picker data', () => {
    const rgi = emojiRegExp('', whole);
    const fallback = emojiRegExp('', whole, withoutVFlag);
    const disagree = everyEmoji().filter((e) => rgi.test(e) !== fallback.test(e));
    expect(disagree).toEqual([]);
  });
});

describe('without the v flag', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it('the parser and the catalog still load and find emoji', async () => {
    const NativeRegExp = RegExp;
    const built: string[] = [];
    // A RegExp that refuses the v flag, as Safari 16 and Firefox 115 do.
    vi.stubGlobal(
      'RegExp',
      new Proxy(NativeRegExp, {
        construct(target, args: [string, string?]) {
          built.push(args[1] ?? '');
          if ((args[1] ?? '').includes('v')) throw new SyntaxError('Invalid regular expression flags');
          return new target(...args);
        },
      }),
    );
    vi.resetModules();
    const { parseRichText } = await import('@/components/chat/richtext');
    const { canonicalEmoji } = await import('../catalog');
    expect(parseRichText('ok 👍🏽 🇫🇷!')).toEqual([
      { kind: 'text', text: 'ok ' },
      { kind: 'emoji', text: '👍🏽' },
      { kind: 'text', text: ' ' },
      { kind: 'emoji', text: '🇫🇷' },
      { kind: 'text', text: '!' },
    ]);
    expect(canonicalEmoji('👍\uFE0F')).toBe('👍');
    expect(canonicalEmoji('❤\uFE0F')).toBe('❤\uFE0F');
    expect(built.some((f) => f.includes('v'))).toBe(true);
    expect(built.some((f) => f.includes('u'))).toBe(true);
  });
});

/** The app's modules (not tests), TypeScript and the scripts of Vue files. */
function appSources(dir: string): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== '__tests__') out.push(...appSources(path));
    } else if (entry.name.endsWith('.ts')) {
      out.push({ file: path, text: readFileSync(path, 'utf8') });
    } else if (entry.name.endsWith('.vue')) {
      for (const m of readFileSync(path, 'utf8').matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g)) out.push({ file: path, text: m[1] ?? '' });
    }
  }
  return out;
}

function regexLiterals(text: string): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) found.push(node.getText());
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile('x.ts', text, ts.ScriptTarget.Latest, true));
  return found;
}

describe('the app source', () => {
  it('has no regex literal with the v flag (a SyntaxError on load in the browsers the build targets)', () => {
    // Tests run from client-web (vitest.config.ts sets the root).
    const src = join(process.cwd(), 'src');
    const sources = appSources(src);
    expect(sources.length).toBeGreaterThan(50);
    expect(sources.some((s) => regexLiterals(s.text).length > 0)).toBe(true);
    const withV = sources.flatMap((s) => regexLiterals(s.text).filter((r) => /\/[a-z]*v[a-z]*$/.test(r)).map((r) => `${s.file}: ${r}`));
    expect(withV).toEqual([]);
  }, 30_000);
});
