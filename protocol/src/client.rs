//! Client frames: what a browser and its node say to each other over the WebSocket.
//!
//! Every frame is one binary WebSocket message holding one CBOR map with a `t` field. The
//! client sends requests; the node answers each request exactly once (`ok` or `err`) and pushes
//! events of its own.

use ciborium::Value;
use serde::{Deserialize, Serialize};

use crate::codec::{self, DecodeError, EncodeError, Limits};
use crate::error_code::ErrorBody;

/// A request id, chosen by the client, unique among its requests in flight.
pub type RequestId = u64;

/// A frame from a client to its node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t")]
#[non_exhaustive]
pub enum ClientFrame {
    /// A request; the node replies exactly once with the same `id`.
    #[serde(rename = "req")]
    Request(Request),
}

/// A method call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Echoed in the reply.
    pub id: RequestId,
    /// The method, e.g. `auth`; an unknown one gets `unknown_method`.
    #[serde(deserialize_with = "codec::text")]
    pub method: String,
    /// The method's parameters: a map.
    #[serde(deserialize_with = "codec::value_map")]
    pub params: Value,
}

/// A frame from a node to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t")]
#[non_exhaustive]
pub enum ServerFrame {
    /// The request `id` succeeded.
    #[serde(rename = "ok")]
    Ok {
        /// The request's id.
        id: RequestId,
        /// The method's result.
        result: Value,
    },
    /// The request `id` failed.
    #[serde(rename = "err")]
    Err {
        /// The request's id.
        id: RequestId,
        /// What went wrong.
        #[serde(deserialize_with = "codec::map_only")]
        error: ErrorBody,
    },
    /// Something happened that the client should know.
    #[serde(rename = "push")]
    Push(Push),
}

/// A named event pushed by the node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Push {
    /// The event's name, e.g. `presence`.
    #[serde(deserialize_with = "codec::text")]
    pub event: String,
    /// The event's content.
    pub data: Value,
    /// Where the client stands after this push; sent back on reconnect to resume.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub cursor: Option<String>,
}

impl ClientFrame {
    /// Decodes a frame received from a client.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        codec::decode_frame(bytes, &Limits::CLIENT_FRAME)
    }

    /// Encodes the frame, refusing one the node would not accept.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        codec::encode_within(self, &Limits::CLIENT_FRAME)
    }
}

impl ServerFrame {
    /// Decodes a frame received from a node.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        codec::decode_frame(bytes, &Limits::CLIENT_FRAME)
    }

    /// Encodes the frame, refusing one a client would not accept.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        codec::encode_within(self, &Limits::CLIENT_FRAME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_code::ErrorCode;

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        )
    }

    #[test]
    fn frames_round_trip() {
        let frames = [
            ServerFrame::Ok {
                id: 1,
                result: map(vec![("user", Value::from("@a:b.c"))]),
            },
            ServerFrame::Err {
                id: 2,
                error: ErrorBody::new(ErrorCode::Forbidden, "no"),
            },
            ServerFrame::Push(Push {
                event: "presence".to_owned(),
                data: map(vec![]),
                cursor: Some("c1".to_owned()),
            }),
            ServerFrame::Push(Push {
                event: "presence".to_owned(),
                data: map(vec![]),
                cursor: None,
            }),
        ];
        for frame in frames {
            let bytes = frame.encode().expect("encodes");
            assert_eq!(ServerFrame::decode(&bytes), Ok(frame));
        }
        let request = ClientFrame::Request(Request {
            id: 9,
            method: "auth".to_owned(),
            params: map(vec![]),
        });
        let bytes = request.encode().expect("encodes");
        assert_eq!(ClientFrame::decode(&bytes), Ok(request));
    }

    #[test]
    fn unknown_frame_types_and_bad_params_are_refused() {
        let unknown = codec::encode(&map(vec![
            ("t", Value::from("hello")),
            ("id", Value::from(1)),
        ]))
        .expect("encodes");
        assert!(matches!(
            ClientFrame::decode(&unknown),
            Err(DecodeError::Schema(_))
        ));
        let untagged = codec::encode(&map(vec![("id", Value::from(1))])).expect("encodes");
        assert!(matches!(
            ClientFrame::decode(&untagged),
            Err(DecodeError::Schema(_))
        ));
        let params_not_map = codec::encode(&map(vec![
            ("t", Value::from("req")),
            ("id", Value::from(1)),
            ("method", Value::from("auth")),
            ("params", Value::from(3)),
        ]))
        .expect("encodes");
        assert!(matches!(
            ClientFrame::decode(&params_not_map),
            Err(DecodeError::Schema(_))
        ));
    }

    #[test]
    fn unknown_error_codes_are_kept() {
        let frame = ServerFrame::Err {
            id: 3,
            error: ErrorBody::new(ErrorCode::Unknown("teapot".to_owned()), "short and stout"),
        };
        let bytes = frame.encode().expect("encodes");
        assert_eq!(ServerFrame::decode(&bytes), Ok(frame));
        for code in ErrorCode::KNOWN {
            assert_eq!(&ErrorCode::parse(code.as_str()), code);
        }
    }
}
