//! `GET /.well-known/winichat/node`: who this node is, for peers and clients.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use winichat_protocol::ids::NodeName;

use super::AppState;

/// The node document. Peers fetch it to learn the identity key a node name stands for, which
/// they then require of the node's federation TLS certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeDocument {
    /// The node's name.
    pub name: NodeName,
    /// The protocol version the node speaks.
    pub protocol_version: u32,
    /// The node's ed25519 identity key, unpadded base64url of the 32 bytes.
    pub public_key: String,
    /// Where the node's QUIC federation endpoint listens.
    pub quic: SocketAddr,
}

/// `GET /.well-known/winichat/node` — `200` with the [`NodeDocument`] as JSON. It is fixed at
/// start-up, so this never touches the database.
pub async fn get(State(state): State<AppState>) -> Json<NodeDocument> {
    Json(NodeDocument::clone(&state.node))
}
