import { describe, expect, it } from 'vitest';

import { directoryQuery } from '../directory-query';

const ME = '@ana:a.test';

describe('directoryQuery', () => {
  it('sends a name or a bare handle as the name part', () => {
    expect(directoryQuery('  Crabs ', ME)).toBe('Crabs');
    expect(directoryQuery('#crabs', ME)).toBe('crabs');
    expect(directoryQuery('', ME)).toBe('');
  });

  it("sends this node's own full handle as its name part", () => {
    expect(directoryQuery('#crabs:a.test', ME)).toBe('crabs');
  });

  it("sends another node's full handle whole, lowercased", () => {
    expect(directoryQuery('#crabs:b.test', ME)).toBe('#crabs:b.test');
    expect(directoryQuery(' #Crabs:B.test ', ME)).toBe('#crabs:b.test');
    expect(directoryQuery('#crabs:127.0.0.1:7800', '@ana:127.0.0.1:7900')).toBe('#crabs:127.0.0.1:7800');
    expect(directoryQuery('#crabs:127.0.0.1:7800', '@ana:127.0.0.1:7800')).toBe('crabs');
  });

  it('treats a half-typed handle as a prefix search', () => {
    expect(directoryQuery('#crabs:', ME)).toBe('crabs');
    expect(directoryQuery('#crabs:b.', ME)).toBe('crabs');
    expect(directoryQuery('#cr:b.test', ME)).toBe('cr');
  });
});
