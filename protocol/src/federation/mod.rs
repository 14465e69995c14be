//! Federation frames: what nodes say to each other over QUIC (ALPN `winichat-fed/1`).
//!
//! Each request travels on its own bidirectional stream as one COSE_Sign1 of a [`FedRequest`],
//! signed by the origin node; the answer comes back on the same stream as one [`FedResponse`].
//! Requests name their destination and time, so a captured request cannot be replayed to
//! another node or much later.

pub mod document;
pub mod methods;
pub mod replica;

use ciborium::Value;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::codec::{self, DecodeError, EncodeError, Limits};
use crate::error_code::ErrorBody;
use crate::ids::NodeName;
use crate::time::Timestamp;

/// The ALPN protocol id of federation links.
pub const ALPN: &[u8] = b"winichat-fed/1";

/// How far a request's `ts` may be from the receiver's clock, in milliseconds.
pub const MAX_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;

/// The payload of a signed federation request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FedRequest {
    /// The node that sent and signed the request.
    pub origin: NodeName,
    /// The node the request is for.
    pub destination: NodeName,
    /// Chosen by the origin; echoed in the response.
    pub id: u64,
    /// The origin's clock when it sent the request.
    pub ts: Timestamp,
    /// The method, e.g. `events.push`.
    #[serde(deserialize_with = "codec::text")]
    pub method: String,
    /// The method's parameters: a map.
    #[serde(deserialize_with = "codec::value_map")]
    pub params: Value,
}

/// Why a verified request is still refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AddressError {
    /// `origin` is not the node that signed.
    #[error("request claims origin {origin} but was signed by {signer}")]
    OriginMismatch { origin: NodeName, signer: NodeName },
    /// The request is for another node.
    #[error("request is for {destination}, not this node")]
    WrongDestination { destination: NodeName },
    /// `ts` is too far from the receiver's clock.
    #[error("request time is {skew_ms} ms away from ours")]
    Stale { skew_ms: u64 },
}

impl FedRequest {
    /// Checks that a request verified under `signer`'s key is really from `signer`, for `me`,
    /// and recent by `now`.
    pub fn check_addressed(
        &self,
        signer: &NodeName,
        me: &NodeName,
        now: Timestamp,
    ) -> Result<(), AddressError> {
        if &self.origin != signer {
            return Err(AddressError::OriginMismatch {
                origin: self.origin.clone(),
                signer: signer.clone(),
            });
        }
        if &self.destination != me {
            return Err(AddressError::WrongDestination {
                destination: self.destination.clone(),
            });
        }
        let skew_ms = self.ts.distance(now);
        if skew_ms > MAX_CLOCK_SKEW_MS {
            return Err(AddressError::Stale { skew_ms });
        }
        Ok(())
    }
}

/// The answer to a federation request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t")]
#[non_exhaustive]
pub enum FedResponse {
    /// The request succeeded.
    #[serde(rename = "ok")]
    Ok {
        /// The request's id.
        id: u64,
        /// The method's result.
        result: Value,
    },
    /// The request failed.
    #[serde(rename = "err")]
    Err {
        /// The request's id.
        id: u64,
        /// What went wrong.
        #[serde(deserialize_with = "codec::map_only")]
        error: ErrorBody,
    },
}

impl FedResponse {
    /// Decodes a response read from a stream.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        codec::decode_frame(bytes, &Limits::FEDERATION_FRAME)
    }

    /// Encodes the response within federation limits.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        codec::encode_within(self, &Limits::FEDERATION_FRAME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str) -> NodeName {
        NodeName::parse(name).expect("valid")
    }

    fn request() -> FedRequest {
        FedRequest {
            origin: node("a.example"),
            destination: node("b.example"),
            id: 1,
            ts: Timestamp(1_000_000),
            method: "events.push".to_owned(),
            params: Value::Map(vec![]),
        }
    }

    #[test]
    fn addressing_rules() {
        let r = request();
        let (a, b, c) = (node("a.example"), node("b.example"), node("c.example"));
        assert_eq!(r.check_addressed(&a, &b, Timestamp(1_000_000)), Ok(()));
        assert_eq!(
            r.check_addressed(&a, &b, Timestamp(1_000_000 + MAX_CLOCK_SKEW_MS)),
            Ok(())
        );
        assert!(matches!(
            r.check_addressed(&c, &b, Timestamp(1_000_000)),
            Err(AddressError::OriginMismatch { .. })
        ));
        assert!(matches!(
            r.check_addressed(&a, &c, Timestamp(1_000_000)),
            Err(AddressError::WrongDestination { .. })
        ));
        assert_eq!(
            r.check_addressed(&a, &b, Timestamp(1_000_001 + MAX_CLOCK_SKEW_MS)),
            Err(AddressError::Stale {
                skew_ms: MAX_CLOCK_SKEW_MS + 1
            })
        );
    }

    #[test]
    fn round_trips() {
        let bytes = codec::encode(&request()).expect("encodes");
        assert_eq!(
            codec::decode::<FedRequest>(&bytes, &Limits::FEDERATION_FRAME),
            Ok(request())
        );
        for response in [
            FedResponse::Ok {
                id: 1,
                result: Value::Null,
            },
            FedResponse::Err {
                id: 2,
                error: ErrorBody::new(crate::error_code::ErrorCode::NotFound, "no such group"),
            },
        ] {
            let bytes = response.encode().expect("encodes");
            assert_eq!(FedResponse::decode(&bytes), Ok(response));
        }
    }
}
