import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';

import HighlightedText from '../HighlightedText.vue';
import { seqOfQuery } from '../search';

describe('HighlightedText', () => {
  it('marks the matching word starts and renders markup in the text as text', () => {
    const w = mount(HighlightedText, { props: { text: '<b>Kumquat</b> and <img src=x onerror=alert(1)> kumquats', words: ['kumq'] } });
    expect(w.find('b').exists()).toBe(false);
    expect(w.find('img').exists()).toBe(false);
    expect(w.findAll('mark').map((m) => m.text())).toEqual(['Kumq', 'kumq']);
    expect(w.text()).toBe('<b>Kumquat</b> and <img src=x onerror=alert(1)> kumquats');
  });
});

describe('seqOfQuery', () => {
  it('takes only a positive safe integer', () => {
    expect(seqOfQuery('12')).toBe(12);
    expect(seqOfQuery(['7'])).toBe(7);
    for (const bad of [undefined, '', '0', '-1', '1e3', '01', 'x', '99999999999999999']) expect(seqOfQuery(bad)).toBeNull();
  });
});
