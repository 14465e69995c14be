//! The params of the `hello` this node sends when it greets its peers (see
//! `server::greet_peers`); answering `hello` is the chat handler's (`ops`).

use ciborium::Value;
use winichat_protocol::federation::methods;

/// The params of a `hello` from this node.
pub fn hello_params() -> Value {
    Value::Map(vec![(
        Value::from("versions"),
        Value::Array(methods::VERSIONS.iter().map(|v| Value::from(*v)).collect()),
    )])
}
