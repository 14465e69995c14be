import { AuthClient, Gateway } from '@/protocol';

/** The app's one connection to its node: the HTTP auth client and the live gateway. */
export interface Sdk {
  readonly auth: AuthClient;
  readonly gateway: Gateway;
}

let sdk: Sdk | null = null;

/** The app's SDK, created on first use against the page's own origin. */
export function useSdk(): Sdk {
  if (sdk === null) {
    const auth = new AuthClient();
    sdk = { auth, gateway: new Gateway({ tokens: auth }) };
  }
  return sdk;
}

/** Replaces the SDK (tests pass one wired to fakes). */
export function provideSdk(replacement: Sdk | null): void {
  sdk = replacement;
}
