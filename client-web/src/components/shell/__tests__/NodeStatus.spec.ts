import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';

import NodeStatus from '../NodeStatus.vue';

function reply(status: number, body: unknown): typeof fetch {
  return vi.fn(() => Promise.resolve(new Response(JSON.stringify(body), { status })));
}

describe('NodeStatus', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('shows the node online when /healthz says ok', async () => {
    const fetcher = reply(200, { status: 'ok' });
    vi.stubGlobal('fetch', fetcher);
    const view = mount(NodeStatus);
    await flushPromises();
    expect(fetcher).toHaveBeenCalledWith('/healthz', expect.anything());
    expect(view.get('[data-testid=node-status]').attributes('data-status')).toBe('ok');
    expect(view.text()).toContain('Online');
  });

  it('shows unavailable on a 503', async () => {
    vi.stubGlobal('fetch', reply(503, { status: 'unavailable' }));
    const view = mount(NodeStatus);
    await flushPromises();
    expect(view.get('[data-testid=node-status]').attributes('data-status')).toBe('unavailable');
  });

  it('shows unreachable when the request fails, and checks again on demand', async () => {
    const failing = vi.fn(() => Promise.reject(new TypeError('network')));
    vi.stubGlobal('fetch', failing);
    const view = mount(NodeStatus);
    await flushPromises();
    expect(view.get('[data-testid=node-status]').attributes('data-status')).toBe('unreachable');
    vi.stubGlobal('fetch', reply(200, { status: 'ok' }));
    await view.get('button').trigger('click');
    await flushPromises();
    expect(view.get('[data-testid=node-status]').attributes('data-status')).toBe('ok');
  });
});
