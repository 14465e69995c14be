/**
 * The WiniChat client SDK: framework-free (no Vue), usable from the app, tests and tools.
 * The codec with limits, the client frames and the identifiers, and on them the connection:
 * `AuthClient` (the HTTP auth API) and `Gateway` (the live WebSocket).
 */
export * from './auth';
export * from './codec';
export * from './error-codes';
export * from './errors';
export * from './frames';
export * from './gateway';
export * from './gateway-messages';
export * from './ids';
export * from './result';
export * from './chat';
export * from './search';
export * from './outbox';
export * from './outbox-persist';
export * from './text';
