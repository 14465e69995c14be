/**
 * A message's text rendered from the rich-text tree (richtext.ts) as Vue vnodes: user text only
 * ever becomes text nodes, a link's `href` only a checked http(s)/mailto address; no HTML.
 */
import { defineComponent, h, type PropType, type VNode, type VNodeChild } from 'vue';

import type { UserId } from '@/protocol';

import type { RichNode } from './richtext';
import SpoilerText from './SpoilerText';

export default defineComponent({
  name: 'RichText',
  props: {
    nodes: { type: Array as PropType<readonly RichNode[]>, required: true },
    /** The text shown for a mention of `user` (its display name). */
    mentionLabel: { type: Function as PropType<(user: UserId) => string>, required: true },
    /** Extra classes of a mention chip (highlighted when it means me). */
    mentionClass: { type: Function as PropType<(user: UserId | null) => string>, required: true },
    me: { type: String as PropType<string | null>, default: null },
  },
  setup(props) {
    function render(nodes: readonly RichNode[]): VNodeChild[] {
      return nodes.map((n, i) => node(n, i));
    }
    function node(n: RichNode, key: number): VNode | string {
      switch (n.kind) {
        case 'text':
          return n.text;
        case 'emoji':
          // Keycaps stay in the text font (see assets/emoji.css).
          return h('span', { key, class: n.text.includes('\u20E3') ? undefined : 'emoji', 'data-testid': 'emoji' }, n.text);
        case 'link':
          return h('a', { key, href: n.href, target: '_blank', rel: 'noopener noreferrer', class: 'link break-all', 'data-testid': 'message-link' }, n.text);
        case 'mention':
        case 'everyone': {
          const user = n.kind === 'mention' ? n.user : null;
          const me = user === null || user === props.me;
          return h(
            'span',
            {
              key,
              class: ['rounded px-0.5 font-semibold', props.mentionClass(user)],
              title: user ?? 'Everyone in the chat',
              'data-user': user ?? undefined,
              'data-kind': n.kind === 'mention' ? 'user' : 'everyone',
              'data-me': me || undefined,
              'data-testid': 'mention',
            },
            user === null ? n.text : `@${props.mentionLabel(user)}`,
          );
        }
        case 'code':
          return h('code', { key, class: 'rounded bg-current/15 px-1 font-mono text-[0.9em]', 'data-testid': 'message-code' }, n.text);
        case 'codeblock':
          return h(
            'pre',
            { key, class: 'my-1 rounded bg-current/15 p-2 font-mono text-[0.85em] whitespace-pre overflow-x-auto', 'data-lang': n.lang || undefined, 'data-testid': 'message-codeblock' },
            [h('code', n.text)],
          );
        case 'bold':
          return h('strong', { key, 'data-testid': 'message-bold' }, render(n.children));
        case 'italic':
          return h('em', { key, 'data-testid': 'message-italic' }, render(n.children));
        case 'strike':
          return h('s', { key, 'data-testid': 'message-strike' }, render(n.children));
        case 'spoiler':
          return h(SpoilerText, { key }, () => render(n.children));
      }
    }
    return () => render(props.nodes);
  },
});
