//! The node's client-facing API: HTTP ([`http`]) and the WebSocket gateway ([`ws`]).

pub mod http;
pub mod ws;
