//! Federation with other nodes over QUIC.
//!
//! For now the endpoint is bound (so address and TLS errors are real from day one) and every
//! connection is closed politely; links, the outbox sender and the peer verifier come later.

pub mod endpoint;
pub mod tls;

pub use winichat_protocol::federation::ALPN;
