import { describe, expect, it } from 'vitest';

import type { UserId } from '@/protocol';

import { emojiOnlyCount, linkAt, parseRichText, plainText, type RichNode } from '../richtext';

const ANA = '@ana:node.test' as UserId;
const SNAKE = '@snake_case_user:node.test' as UserId;

const t = (text: string): RichNode => ({ kind: 'text', text });

/** Every node of a tree, depth first. */
function all(nodes: readonly RichNode[]): RichNode[] {
  return nodes.flatMap((n) => ('children' in n ? [n, ...all(n.children)] : [n]));
}

describe('parseRichText: formatting', () => {
  it('leaves plain text alone', () => {
    expect(parseRichText('hello world')).toEqual([t('hello world')]);
    expect(parseRichText('')).toEqual([]);
  });

  it('reads bold, italic, strikethrough and spoilers', () => {
    expect(parseRichText('a **b** c')).toEqual([t('a '), { kind: 'bold', children: [t('b')] }, t(' c')]);
    expect(parseRichText('_it_ and *it*')).toEqual([{ kind: 'italic', children: [t('it')] }, t(' and '), { kind: 'italic', children: [t('it')] }]);
    expect(parseRichText('~~old~~')).toEqual([{ kind: 'strike', children: [t('old')] }]);
    expect(parseRichText('the end: ||he lives||!')).toEqual([t('the end: '), { kind: 'spoiler', children: [t('he lives')] }, t('!')]);
  });

  it('nests different marks, never a mark inside itself', () => {
    expect(parseRichText('**bold _both_**')).toEqual([{ kind: 'bold', children: [t('bold '), { kind: 'italic', children: [t('both')] }] }]);
    expect(parseRichText('*a **b** c*')).toEqual([{ kind: 'italic', children: [t('a '), { kind: 'bold', children: [t('b')] }, t(' c')] }]);
    expect(parseRichText('||~~**x**~~||')).toEqual([{ kind: 'spoiler', children: [{ kind: 'strike', children: [{ kind: 'bold', children: [t('x')] }] }] }]);
  });

  it('keeps marks that do not pair, or sit next to spaces, or inside words, as typed', () => {
    for (const s of ['2 * 3 * 4', 'snake_case_name', '**not closed', 'a ** b **', '_ spaced _', '****', '~~', '||||', 'x_y_', 'a*', '`', '``', 'price: 5*', '* list item']) {
      expect(plainText(parseRichText(s)), s).toBe(s);
      expect(all(parseRichText(s)).every((n) => n.kind === 'text'), s).toBe(true);
    }
  });

  it('reads inline code verbatim', () => {
    expect(parseRichText('run `cargo **build**` now')).toEqual([t('run '), { kind: 'code', text: 'cargo **build**' }, t(' now')]);
    expect(parseRichText('**`x`**')).toEqual([{ kind: 'bold', children: [{ kind: 'code', text: 'x' }] }]);
  });

  it('reads code blocks, with or without a language, verbatim', () => {
    expect(parseRichText('look:\n```rust\nfn main() { **x** }\n```\nok')).toEqual([
      t('look:'),
      { kind: 'codeblock', lang: 'rust', text: 'fn main() { **x** }' },
      t('ok'),
    ]);
    expect(parseRichText('```\na\n  b\n```')).toEqual([{ kind: 'codeblock', lang: '', text: 'a\n  b' }]);
    expect(parseRichText('```one line```')).toEqual([{ kind: 'codeblock', lang: '', text: 'one line' }]);
    // Unclosed or empty fences are text.
    expect(plainText(parseRichText('```\nnot closed'))).toBe('```\nnot closed');
    expect(parseRichText('``````')).toEqual([t('``````')]);
  });
});

describe('parseRichText: links', () => {
  const links = (s: string) => all(parseRichText(s)).filter((n) => n.kind === 'link');

  it('finds http, https and mailto links, without the punctuation after them', () => {
    expect(links('see https://example.org/a_b_c?x=1#y.')).toEqual([{ kind: 'link', href: 'https://example.org/a_b_c?x=1#y', text: 'https://example.org/a_b_c?x=1#y' }]);
    expect(links('(http://example.org/wiki/Rust_(lang)) ok')).toEqual([{ kind: 'link', href: 'http://example.org/wiki/Rust_(lang)', text: 'http://example.org/wiki/Rust_(lang)' }]);
    expect(links('write to mailto:ana@example.org!')).toEqual([{ kind: 'link', href: 'mailto:ana@example.org', text: 'mailto:ana@example.org' }]);
    expect(links('**https://example.org**')).toEqual([{ kind: 'link', href: 'https://example.org/', text: 'https://example.org' }]);
    expect(links('HTTPS://EXAMPLE.ORG')).toHaveLength(1);
  });

  it('never links another scheme', () => {
    for (const s of [
      'javascript:alert(1)',
      'JaVaScRiPt:alert(document.cookie)',
      'java\nscript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox(1)',
      'file:///etc/passwd',
      'xhttps://example.org',
      'https://',
      'http://?',
      'mailto:',
      'mailto:javascript:alert(1)',
      '<a href="javascript:alert(1)">x</a>',
      'https:/\\example.org',
    ]) {
      expect(links(s), s).toEqual([]);
      expect(plainText(parseRichText(s)), s).toBe(s);
    }
  });

  it('keeps a link whole even when it holds marks, and stops at quotes and angle brackets', () => {
    expect(links('https://example.org/**x**_y_')).toEqual([{ kind: 'link', href: 'https://example.org/**x**_y', text: 'https://example.org/**x**_y' }]);
    expect(links('"https://example.org" onclick="alert(1)"')).toEqual([{ kind: 'link', href: 'https://example.org/', text: 'https://example.org' }]);
    expect(links('<https://example.org/><img src=x onerror=alert(1)>')[0]?.text).toBe('https://example.org/');
  });

  it('gives the parsed address as href (normalised by URL)', () => {
    expect(linkAt('https://EXAMPLE.org/%7Eana', 0)?.href).toBe('https://example.org/%7Eana');
    expect(linkAt('https://例え.jp', 0)?.href).toBe('https://xn--r8jz45g.jp/');
  });
});

describe('parseRichText: hostile text stays text', () => {
  it('never turns HTML into anything but text', () => {
    const html = '<img src=x onerror=alert(1)><script>alert(2)</script><b>x</b>&lt;';
    expect(parseRichText(html)).toEqual([t(html)]);
  });

  it('keeps every character of any input (marks dropped only where they pair)', () => {
    const inputs = ['*_~|`@#:/.\\<>&"\'', '\u202Ehttps://example.org\u202C', '\u0000\uFFFF\uD800', '@ana @', '||a|b||c||'];
    for (const s of inputs) {
      const out = plainText(parseRichText(s, { mentions: [ANA] }));
      for (const c of s.replace(/[*_~|`]/g, '')) expect(out.includes(c), `${JSON.stringify(s)} keeps ${JSON.stringify(c)}`).toBe(true);
    }
  });

  it('parses 4,096 characters of marks quickly', () => {
    for (const unit of ['*', '_', '**a', '||', '~~ ', '*a', '_a_ ', '`', '```', '@', 'https://a.b ', '**_~~||x']) {
      const s = unit.repeat(Math.ceil(4096 / unit.length)).slice(0, 4096);
      const start = performance.now();
      const nodes = parseRichText(s, { mentions: [ANA] });
      const ms = performance.now() - start;
      expect(ms, `${JSON.stringify(unit)} took ${ms.toFixed(1)} ms`).toBeLessThan(250);
      expect(nodes.length).toBeGreaterThan(0);
    }
  });

  it('trims thousands of closing brackets after a link in linear time', () => {
    const closing = ')'.repeat(8192);
    const start = performance.now();
    const nodes = parseRichText(`https://a.b/${closing}`);
    const ms = performance.now() - start;
    expect(ms, `took ${ms.toFixed(1)} ms`).toBeLessThan(100);
    expect(nodes).toEqual([
      { kind: 'link', href: 'https://a.b/', text: 'https://a.b/' },
      { kind: 'text', text: closing },
    ]);
    // The brackets the link opened stay in it, the rest are trimmed.
    expect(parseRichText(`https://a.b/((x)[y]${')'.repeat(3)}]]).`)).toEqual([
      { kind: 'link', href: 'https://a.b/((x)[y])', text: 'https://a.b/((x)[y])' },
      { kind: 'text', text: '))]]).' },
    ]);
  });

  it('nests no deeper than the number of mark kinds', () => {
    const s = '**_~~||'.repeat(200) + 'x' + '||~~_**'.repeat(200);
    const depth = (nodes: readonly RichNode[]): number => Math.max(0, ...nodes.map((n) => ('children' in n ? 1 + depth(n.children) : 0)));
    expect(depth(parseRichText(s))).toBeLessThanOrEqual(4);
  });
});

describe('parseRichText: mentions and emoji', () => {
  it('picks out the mentions the message carries, before marks are read', () => {
    expect(parseRichText('hi @snake_case_user and _you_', { mentions: [SNAKE] })).toEqual([
      t('hi '),
      { kind: 'mention', user: SNAKE, text: '@snake_case_user' },
      t(' and '),
      { kind: 'italic', children: [t('you')] },
    ]);
    expect(parseRichText('@ana', { mentions: [] })).toEqual([t('@ana')]);
    expect(parseRichText('@everyone go', { everyone: true })).toEqual([{ kind: 'everyone', text: '@everyone' }, t(' go')]);
    expect(parseRichText('@everyone go', { everyone: false })).toEqual([t('@everyone go')]);
    expect(parseRichText('**@ana**', { mentions: [ANA] })).toEqual([{ kind: 'bold', children: [{ kind: 'mention', user: ANA, text: '@ana' }] }]);
  });

  it('does not read a mention inside a link or code', () => {
    expect(all(parseRichText('mailto:x@ana.org `@ana`', { mentions: [ANA] })).some((n) => n.kind === 'mention')).toBe(false);
  });

  it('picks out whole emoji sequences', () => {
    const emoji = (s: string) => all(parseRichText(s)).filter((n) => n.kind === 'emoji').map((n) => (n as { text: string }).text);
    expect(emoji('hi 👍🏽 and 👨‍👩‍👧 🇫🇷 1️⃣ ❤️')).toEqual(['👍🏽', '👨‍👩‍👧', '🇫🇷', '1️⃣', '❤️']);
    expect(emoji('1 # * © plain')).toEqual([]);
    expect(parseRichText('**🎉**')).toEqual([{ kind: 'bold', children: [{ kind: 'emoji', text: '🎉' }] }]);
  });

  it('counts messages of only emoji', () => {
    expect(emojiOnlyCount(parseRichText('🎉 🎉'))).toBe(2);
    expect(emojiOnlyCount(parseRichText('🎉 ok'))).toBe(0);
    expect(emojiOnlyCount(parseRichText(''))).toBe(0);
  });
});
