import { describe, expect, it } from 'vitest';

import { draftKey, forgetDrafts, loadDraft, MAX_DRAFT_CHARS, saveDraft } from '../drafts';

const ANA = '@ana:node.test';
const BO = '@bob:node.test';
const G = '!abcdef123:node.test';
const H = '!ghijkl456:node.test';

/** A Storage in memory (the test environment's own is shared between tests). */
class MemoryStorage implements Storage {
  readonly #m = new Map<string, string>();
  get length(): number {
    return this.#m.size;
  }
  clear(): void {
    this.#m.clear();
  }
  getItem(key: string): string | null {
    return this.#m.get(key) ?? null;
  }
  key(index: number): string | null {
    return [...this.#m.keys()][index] ?? null;
  }
  removeItem(key: string): void {
    this.#m.delete(key);
  }
  setItem(key: string, value: string): void {
    this.#m.set(key, value);
  }
}

describe('drafts', () => {
  it('keeps a draft per user and chat', () => {
    const s = new MemoryStorage();
    saveDraft(s, ANA, G, 'to g');
    saveDraft(s, ANA, H, 'to h');
    saveDraft(s, BO, G, 'bo to g');
    expect([loadDraft(s, ANA, G), loadDraft(s, ANA, H), loadDraft(s, BO, G), loadDraft(s, BO, H)]).toEqual(['to g', 'to h', 'bo to g', '']);
  });

  it('drops a draft that is emptied (sent) or blank', () => {
    const s = new MemoryStorage();
    saveDraft(s, ANA, G, 'hello');
    saveDraft(s, ANA, G, '');
    expect(s.getItem(draftKey(ANA, G))).toBeNull();
    saveDraft(s, ANA, G, '  \n ');
    expect(s.length).toBe(0);
  });

  it('keeps a very long draft cut to the limit', () => {
    const s = new MemoryStorage();
    saveDraft(s, ANA, G, 'x'.repeat(MAX_DRAFT_CHARS + 10));
    expect(loadDraft(s, ANA, G)).toHaveLength(MAX_DRAFT_CHARS);
  });

  it('forgets every draft of one user and none of another', () => {
    const s = new MemoryStorage();
    saveDraft(s, ANA, G, 'a');
    saveDraft(s, ANA, H, 'b');
    saveDraft(s, BO, G, 'c');
    s.setItem('winichat.theme', 'dark');
    forgetDrafts(s, ANA);
    expect([loadDraft(s, ANA, G), loadDraft(s, ANA, H), loadDraft(s, BO, G), s.getItem('winichat.theme')]).toEqual(['', '', 'c', 'dark']);
  });

  it('goes on without storage, or when it refuses', () => {
    const full = new MemoryStorage();
    full.setItem = () => {
      throw new DOMException('full', 'QuotaExceededError');
    };
    full.getItem = () => {
      throw new DOMException('denied', 'SecurityError');
    };
    expect(() => saveDraft(full, ANA, G, 'x')).not.toThrow();
    expect(loadDraft(full, ANA, G)).toBe('');
    expect(loadDraft(null, ANA, G)).toBe('');
    expect(() => forgetDrafts(null, ANA)).not.toThrow();
  });
});
