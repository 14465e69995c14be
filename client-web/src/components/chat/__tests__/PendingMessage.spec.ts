import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { AuthClient, type Gateway, type GroupId, type Outgoing } from '@/protocol';
import { provideSdk } from '@/services/sdk';

import PendingMessage from '../PendingMessage.vue';

const G = '!abcdef123:node.test' as GroupId;

function render(item: Partial<Outgoing>, held = false) {
  const gw = { state: 'connected', on: () => () => {}, request: () => Promise.resolve({ ok: true, value: {} }) };
  provideSdk({ auth: new AuthClient({ fetch: vi.fn() as unknown as typeof fetch }), gateway: gw as unknown as Gateway });
  const pinia = createPinia();
  setActivePinia(pinia);
  const full: Outgoing = { txn: 't1', group: G, text: 'hello', options: {}, queuedAt: 1, state: 'sending', attempts: 1, ...item };
  return mount(PendingMessage, { props: { item: full, quoted: null, held }, global: { plugins: [pinia] } });
}

describe('PendingMessage', () => {
  afterEach(() => provideSdk(null));

  it('shows a message on its way as sending, without actions', () => {
    const w = render({ state: 'sending' });
    expect(w.get('[data-testid=pending-message]').attributes('data-state')).toBe('sending');
    expect(w.get('[data-testid=pending-text]').text()).toBe('hello');
    expect(w.get('[data-testid=pending-status]').text()).toBe('Sending…');
    expect(w.find('[data-testid=ticks]').exists()).toBe(false);
    expect(w.find('[data-testid=pending-retry]').exists()).toBe(false);
    expect(w.find('[data-testid=pending-delete]').exists()).toBe(false);
  });

  it('shows a clock until the node acknowledges, then a tick; a failed one has neither', () => {
    for (const state of ['queued', 'sending'] as const) expect(render({ state }).find('[data-testid=pending-clock]').exists()).toBe(true);
    const sent = render({ state: 'sent', seq: 9 });
    expect(sent.find('[data-testid=pending-clock]').exists()).toBe(false);
    expect(sent.find('[data-testid=ticks]').exists()).toBe(true);
    const failed = render({ state: 'failed', error: { code: 'forbidden', message: 'no' } });
    expect(failed.find('[data-testid=pending-clock]').exists()).toBe(false);
    expect(failed.find('[data-testid=ticks]').exists()).toBe(false);
  });

  it('says which node a send waits for while it is retried', () => {
    const unreachable = render({ state: 'sending', attempts: 3, waitingOn: { code: 'unavailable', message: 'node.test cannot be reached' } });
    expect(unreachable.get('[data-testid=pending-status]').text()).toBe('Waiting for node.test: it will be sent once that node answers');
    expect(unreachable.find('[data-testid=pending-retry]').exists()).toBe(false);
    const slowed = render({ state: 'sending', waitingOn: { code: 'rate_limited', message: 'slow down' } });
    expect(slowed.get('[data-testid=pending-status]').text()).toBe('Sending more slowly: too many messages at once');
  });

  it('shows an answered message waiting for its event as sent', () => {
    const w = render({ state: 'sent', seq: 9 });
    expect(w.get('[data-testid=pending-status]').text()).toBe('Sent');
    expect(w.get('[data-testid=ticks]').attributes('data-state')).toBe('sent');
  });

  it('shows a failed message with the reason, Retry and Delete', async () => {
    const w = render({ state: 'failed', error: { code: 'forbidden', message: 'You cannot send messages here.' } });
    expect(w.get('[data-testid=pending-status]').text()).toBe('Not sent: You cannot send messages here.');
    expect(w.get('[data-testid=pending-status]').attributes('role')).toBe('alert');
    await w.get('[data-testid=pending-retry]').trigger('click');
    await w.get('[data-testid=pending-delete]').trigger('click');
    expect(w.emitted('retry')).toHaveLength(1);
    expect(w.emitted('discard')).toHaveLength(1);
  });

  it('shows a message held behind a failed one as waiting, deletable', () => {
    const w = render({ state: 'queued' }, true);
    expect(w.get('[data-testid=pending-status]').text()).toBe('Waiting for the message above');
    expect(w.find('[data-testid=pending-retry]').exists()).toBe(false);
    expect(w.find('[data-testid=pending-delete]').exists()).toBe(true);
  });

  it('names the attachments of a message without text', () => {
    const w = render({ text: '', options: { attachments: [{ media: 'node.test/' + 'a'.repeat(64), name: 'notes.pdf' }] } });
    expect(w.get('[data-testid=pending-attachments]').text()).toBe('📎 notes.pdf');
    expect(w.find('[data-testid=pending-text]').exists()).toBe(false);
  });
});
