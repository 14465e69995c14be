/** Shared fakes for the media component tests: a gateway that signs URLs, and attachments. */
import { createPinia, setActivePinia, type Pinia } from 'pinia';
import { vi } from 'vitest';

import { AuthClient, formatMediaId, ok, type Attachment, type CborMap, type CborValue, type Gateway, type Result } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useSessionStore } from '@/stores/session';

export const NODE = 'node.test';
export const mediaId = (n: number): string => `${NODE}/${n.toString(16).padStart(64, '0')}`;
export const hexOf = (n: number): string => n.toString(16).padStart(64, '0');

export class SigningGateway {
  state = 'connected';
  readonly calls: CborMap[][] = [];
  version = 1;
  expiresAt = Date.now() + 3_600_000;

  request(method: string, params: CborMap = {}): Promise<Result<CborValue, { code: string; message: string }>> {
    if (method !== 'media.urls') return Promise.resolve(ok({}));
    const items = params.items as CborMap[];
    this.calls.push(items);
    const urls = items.map((it) => {
      const hex = formatMediaId(it.media as never).split('/')[1] ?? '';
      const thumb = it.thumb === undefined ? '' : `/thumb/${String(it.thumb)}`;
      return `/api/media/${hex}${thumb}?exp=${this.expiresAt}&sig=v${this.version}`;
    });
    return Promise.resolve(ok({ urls, expires_at: this.expiresAt }));
  }

  on(): () => void {
    return () => {};
  }
  start(): void {}
  stop(): void {}
}

export function setupMedia(): { gw: SigningGateway; pinia: Pinia } {
  const gw = new SigningGateway();
  provideSdk({ auth: new AuthClient({ fetch: vi.fn() as unknown as typeof fetch }), gateway: gw as unknown as Gateway });
  const pinia = createPinia();
  setActivePinia(pinia);
  useSessionStore().userId = '@me:node.test';
  return { gw, pinia };
}

/** Lets the url() batch go out and its reply land, and Vue re-render. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 0));
  }
}

export function image(n: number, extra: Partial<Attachment> = {}): Attachment {
  return { media: mediaId(n), kind: 'image', mime: 'image/jpeg', size: 50_000, width: 1600, height: 1200, blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj', ...extra };
}

/** Gives an element a duration (happy-dom's is NaN) and announces it. */
export function setDuration(el: HTMLMediaElement, seconds: number): void {
  Object.defineProperty(el, 'duration', { configurable: true, get: () => seconds });
  el.dispatchEvent(new Event('loadedmetadata'));
}
