//! The node's client-facing API. Today: HTTP ([`http`]); the WebSocket API comes later.

pub mod http;
