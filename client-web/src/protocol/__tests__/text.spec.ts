import { describe, expect, it } from 'vitest';

import { refusedCharAt, withoutRefusedChars } from '../text';

describe('shown text (protocol.md §2.1)', () => {
  it('accepts names people use, emoji sequences whole', () => {
    for (const ok of ['Alice', 'Zoë', 'محمد', '❤️', '👍🏽', '👨\u200D👩\u200D👧', '🏳\uFE0F\u200D🌈', '1\uFE0F\u20E3', '🇫🇷', '']) {
      expect(refusedCharAt(ok), JSON.stringify(ok)).toBeNull();
    }
  });

  it('refuses invisible and direction-changing characters where they are', () => {
    const cases: [string, number][] = [
      ['\u202ESYSTEM', 0],
      ['iso\u2066late', 3],
      ['rlm\u200F', 3],
      ['ad\u200Bmin', 2],
      ['ad\u200Dmin', 2],
      ['\uFEFFbom', 0],
      ['tag\u{E0041}', 3],
      ['\u3164', 0],
      ['vs15\uFE0E', 4],
      ['a\uFE0F', 1],
      ['👨\u200D', 1],
      ['1\u200D2', 1],
      ['two\nlines', 3],
      ['tab\t', 3],
      ['line\u2028', 4],
    ];
    for (const [bad, at] of cases) expect(refusedCharAt(bad), JSON.stringify(bad)).toBe(at);
  });

  it('allows a newline only on several lines', () => {
    expect(refusedCharAt('a\nb', 'many')).toBeNull();
    expect(refusedCharAt('a\r\nb', 'many')).toBe(1);
  });

  it('strips what is refused and keeps emoji sequences', () => {
    expect(withoutRefusedChars('\u202Egpj.exe')).toBe('gpj.exe');
    expect(withoutRefusedChars('ad\u200Bmin 👨\u200D👩')).toBe('admin 👨\u200D👩');
  });
});
