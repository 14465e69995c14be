//! `GET /.well-known/winichat/node`: who this node is, for peers and clients.
//!
//! Peers get the signed node document (spec/federation.md §2): a COSE_Sign1 by the node key
//! of the name, the key, the QUIC addresses and how long to trust them. People asking for
//! JSON (`Accept: application/json`) get the same facts unsigned.

use std::net::SocketAddr;
use std::sync::Mutex;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use winichat_protocol::Timestamp;
use winichat_protocol::codec::EncodeError;
use winichat_protocol::ed25519_dalek::SigningKey;
use winichat_protocol::federation::document;
use winichat_protocol::federation::methods::VERSIONS;
use winichat_protocol::ids::NodeName;
use winichat_protocol::keys::PublicKey;

use super::AppState;
use crate::federation::clock;

/// The media type of the signed document.
pub const COSE_CONTENT_TYPE: &str = "application/cose";
/// How long fetchers may cache a document.
pub const DOCUMENT_LIFETIME_MS: u64 = 24 * 3600 * 1000;
/// A served document is signed again once it is this old, so fetchers always get most of
/// [`DOCUMENT_LIFETIME_MS`].
pub const RESIGN_AFTER_MS: u64 = 3600 * 1000;

/// The node document as JSON, for people. Peers fetch the signed form to learn the identity
/// key a node name stands for, which they then require of the node's federation TLS
/// certificate.
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

/// Signs the node document, and keeps the last signature while it is fresh.
pub struct DocumentSigner {
    name: NodeName,
    key: SigningKey,
    quic: Vec<String>,
    /// Signed key rotations, oldest first (spec/federation.md §2.5).
    rotations: Vec<Vec<u8>>,
    signed: Mutex<Option<(Timestamp, Vec<u8>)>>,
}

impl std::fmt::Debug for DocumentSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentSigner")
            .field("name", &self.name)
            .field("quic", &self.quic)
            .finish_non_exhaustive()
    }
}

impl DocumentSigner {
    /// A signer for node `name` with identity `key`, publishing `quic` addresses.
    pub fn new(name: NodeName, key: SigningKey, quic: Vec<String>) -> Self {
        DocumentSigner {
            name,
            key,
            quic,
            rotations: Vec::new(),
            signed: Mutex::new(None),
        }
    }

    /// Publishes the node's key rotations (COSE_Sign1s of `KeyRotation`s, each by the key
    /// before, oldest first): the last as `rotation`, the others as `earlier_rotations`.
    pub fn with_rotations(mut self, rotations: Vec<Vec<u8>>) -> Self {
        self.rotations = rotations;
        self
    }

    /// The COSE_Sign1 bytes of the document, valid for a day from when they were signed.
    pub fn signed(&self, now: Timestamp) -> Result<Vec<u8>, EncodeError> {
        let mut slot = self.signed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, bytes)) = slot.as_ref()
            && now.0.saturating_sub(at.0) < RESIGN_AFTER_MS
        {
            return Ok(bytes.clone());
        }
        let doc = document::NodeDocument {
            name: self.name.clone(),
            key: PublicKey::of(&self.key).to_bytes().to_vec(),
            quic: self.quic.clone(),
            versions: VERSIONS.to_vec(),
            valid_until: Timestamp(now.0.saturating_add(DOCUMENT_LIFETIME_MS)),
            rotation: self.rotations.last().cloned(),
            earlier_rotations: self
                .rotations
                .split_last()
                .map(|(_, earlier)| earlier.to_vec())
                .unwrap_or_default(),
        };
        let bytes = doc.sign(&self.key)?.raw().to_vec();
        *slot = Some((now, bytes.clone()));
        Ok(bytes)
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/json"))
}

/// `GET /.well-known/winichat/node` — `200` with the signed document (`application/cose`),
/// or the JSON form when the client accepts JSON. Never touches the database.
pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if wants_json(&headers) {
        return Json(NodeDocument::clone(&state.node)).into_response();
    }
    match state.node_document.signed(clock::now()) {
        Ok(bytes) => ([(header::CONTENT_TYPE, COSE_CONTENT_TYPE)], bytes).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot sign the node document");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
