import { describe, expect, it } from 'vitest';

import { ERROR_CODES } from '@/protocol';

import { errorText, isFinalRefusal } from '../errorText';

describe('errorText', () => {
  it('has a plain sentence for every code this version knows, never the node text', () => {
    for (const code of Object.keys(ERROR_CODES)) {
      const text = errorText({ code, message: 'raw lowercase text from the node' });
      expect(text).not.toContain('raw lowercase');
      expect(text).toMatch(/^[A-Z].*[.!?]$/);
    }
  });

  it('prefers the sentence of the place for a code', () => {
    expect(errorText({ code: 'forbidden', message: 'you are banned' }, { forbidden: 'You cannot join this group.' })).toBe('You cannot join this group.');
    expect(errorText({ code: 'not_found', message: 'x' }, { forbidden: 'You cannot join this group.' })).toBe('That no longer exists, or you cannot see it.');
  });

  it('covers the codes the app makes itself', () => {
    expect(errorText({ code: 'timeout', message: 'No answer in time.' })).toMatch(/No answer in time/);
    expect(errorText({ code: 'bad_response', message: 'x' })).toMatch(/cannot read/);
  });

  it('turns the text of an unknown code into a sentence', () => {
    expect(errorText({ code: 'slow_mode', message: 'wait 30 s between messages' })).toBe('Wait 30 s between messages.');
    expect(errorText({ code: 'weird', message: '' })).toBe('Weird.');
  });

  it('calls refusals final when trying again cannot help', () => {
    expect(isFinalRefusal({ code: 'forbidden', message: '' })).toBe(true);
    expect(isFinalRefusal({ code: 'not_found', message: '' })).toBe(true);
    expect(isFinalRefusal({ code: 'unavailable', message: '' })).toBe(false);
    expect(isFinalRefusal({ code: 'timeout', message: '' })).toBe(false);
  });
});
