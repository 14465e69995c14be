import { describe, expect, it } from 'vitest';

import { highlightParts, MAX_QUERY_WORDS, MAX_WORD_CHARS, searchWords } from '../search';

describe('searchWords', () => {
  it('reads query syntax as plain words, like the node', () => {
    expect(searchWords('"hello" OR wor*')).toEqual(['hello', 'or', 'wor']);
    expect(searchWords('NEAR(a b) -c')).toEqual(['near', 'a', 'b', 'c']);
    expect(searchWords('"*-()^:')).toEqual([]);
    expect(searchWords('Ünïcödé 日本語 ÜNÏCÖDÉ')).toEqual(['ünïcödé', '日本語']);
  });

  it('is bounded', () => {
    expect(searchWords('x'.repeat(10_000))).toEqual(['x'.repeat(MAX_WORD_CHARS)]);
    const many = Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ');
    expect(searchWords(many)).toHaveLength(MAX_QUERY_WORDS);
  });
});

describe('highlightParts', () => {
  it('marks the starts of matching words', () => {
    expect(highlightParts('Hello, Helsinki! hi', ['hel'])).toEqual([
      { text: 'Hel', match: true },
      { text: 'lo, ', match: false },
      { text: 'Hel', match: true },
      { text: 'sinki! hi', match: false },
    ]);
  });

  it('keeps text that matches nothing whole', () => {
    expect(highlightParts('<b>x</b>', ['y'])).toEqual([{ text: '<b>x</b>', match: false }]);
  });
});
