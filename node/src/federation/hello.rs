//! A minimal [`FedHandler`]: answers `hello` and nothing else. The node uses it until a
//! handler with the chat methods is plugged in (see `server::federation_handler`).

use ciborium::Value;
use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::federation::methods::{self, HelloParams, HelloResult, method};
use winichat_protocol::ids::NodeName;

use super::{FedHandler, clock};

/// Answers `hello` with our versions and clock; `unknown_method` otherwise.
#[derive(Debug, Clone, Copy, Default)]
pub struct HelloHandler;

/// The params of a `hello` from this node.
pub fn hello_params() -> Value {
    Value::Map(vec![(
        Value::from("versions"),
        Value::Array(methods::VERSIONS.iter().map(|v| Value::from(*v)).collect()),
    )])
}

/// The answer to `hello`, for any handler that serves it.
pub fn hello(params: &Value) -> Result<Value, ErrorBody> {
    let _: HelloParams = winichat_protocol::codec::deserialize_value(params)
        .map_err(|e| ErrorBody::new(ErrorCode::BadRequest, e))?;
    let result = HelloResult {
        versions: methods::VERSIONS.to_vec(),
        ts: clock::now(),
    };
    Value::serialized(&result).map_err(|_| ErrorBody::new(ErrorCode::Internal, "internal error"))
}

#[async_trait::async_trait]
impl FedHandler for HelloHandler {
    async fn handle(
        &self,
        _origin: &NodeName,
        method: &str,
        params: Value,
    ) -> Result<Value, ErrorBody> {
        match method {
            method::HELLO => hello(&params),
            other => Err(ErrorBody::new(
                ErrorCode::UnknownMethod,
                format!("unknown method {other}"),
            )),
        }
    }
}
