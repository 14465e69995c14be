import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';

import type { UserId } from '@/protocol';

import RichTextView from '../RichTextView';
import { parseRichText } from '../richtext';

const ANA = '@ana:node.test' as UserId;

function render(text: string, mentions: UserId[] = []) {
  return mount(RichTextView, {
    props: { nodes: parseRichText(text, { mentions }), mentionLabel: (u: UserId) => (u === ANA ? 'Ana Lima' : u), mentionClass: () => 'chip', me: null },
    attachTo: document.body,
  });
}

describe('RichTextView', () => {
  it('renders the formatting as elements', () => {
    const w = render('**b** _i_ ~~s~~ `c` https://example.org ||x||\n```js\nlet a;\n```');
    expect(w.find('strong').text()).toBe('b');
    expect(w.find('em').text()).toBe('i');
    expect(w.find('s').text()).toBe('s');
    expect(w.find('code').text()).toBe('c');
    expect(w.find('pre').text()).toBe('let a;');
    expect(w.find('pre').attributes('data-lang')).toBe('js');
    const a = w.find('a');
    expect(a.attributes()).toMatchObject({ href: 'https://example.org/', target: '_blank', rel: 'noopener noreferrer' });
    w.unmount();
  });

  it('shows a mention by display name', () => {
    const w = render('hi @ana', [ANA]);
    const m = w.find('[data-testid=mention]');
    expect(m.text()).toBe('@Ana Lima');
    expect(m.attributes('data-user')).toBe(ANA);
    w.unmount();
  });

  it('keeps HTML and script links as text', () => {
    const w = render('<img src=x onerror="alert(1)"> [x](javascript:alert(1)) javascript:alert(2) <a href="javascript:alert(3)">y</a>');
    expect(w.findAll('img, a, script')).toHaveLength(0);
    expect(w.text()).toContain('<img src=x onerror="alert(1)">');
    w.unmount();
  });

  it('hides a spoiler until it is clicked or activated with the keyboard', async () => {
    const w = render('||secret|| and ||more||');
    const [first, second] = w.findAll('[data-testid=spoiler]');
    expect(first?.attributes('role')).toBe('button');
    expect(first?.find('.invisible').exists()).toBe(true);
    await first?.trigger('click');
    expect(w.findAll('[data-testid=spoiler]')[0]?.attributes('data-revealed')).toBe('true');
    await second?.trigger('keydown', { key: 'Enter' });
    expect(w.findAll('[data-revealed=true]')).toHaveLength(2);
    w.unmount();
  });
});
