/** A `||spoiler||` in a message. */
import { defineComponent, h, ref } from 'vue';

/** A spoiler: hidden (its text invisible, also to screen readers) until clicked or activated with the keyboard. */
export default defineComponent({
  name: 'SpoilerText',
  setup(_, { slots }) {
    const revealed = ref(false);
    const reveal = (e: Event): void => {
      if (revealed.value) return;
      // The first click reveals; it is not also a click on the message.
      e.stopPropagation();
      e.preventDefault();
      revealed.value = true;
    };
    return () =>
      revealed.value
        ? h('span', { class: 'rounded bg-current/15 px-0.5', 'data-testid': 'spoiler', 'data-revealed': 'true' }, slots.default?.())
        : h(
            'span',
            {
              class: 'rounded bg-current/60 px-0.5 cursor-pointer',
              role: 'button',
              tabindex: 0,
              'aria-label': 'Spoiler: show',
              title: 'Show the spoiler',
              'data-testid': 'spoiler',
              onClick: reveal,
              onKeydown: (e: KeyboardEvent) => (e.key === 'Enter' || e.key === ' ' ? reveal(e) : undefined),
            },
            [h('span', { class: 'invisible' }, slots.default?.())],
          );
  },
});
