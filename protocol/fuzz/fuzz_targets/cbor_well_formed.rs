//! `codec::check_well_formed` under every limit set, and every typed decoder on the same bytes.
//!
//! Properties: the limit sets nest by size (PROTECTED_HEADER ⊂ CLIENT_FRAME = EVENT ⊂
//! FEDERATION_FRAME, comparing with `text_keys` off, since only the protected header allows
//! non-text keys), so acceptance under a tighter set implies acceptance under a looser one; whatever the walk accepts decodes as a generic CBOR value that re-encodes to exactly
//! the input (the accepted subset has one encoding per value); and a typed decoder never
//! accepts what the walk refuses, nor fails on accepted bytes with anything but a schema error.
#![no_main]

use core::fmt::Debug;

use ciborium::Value;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use winichat_protocol::client::{ClientFrame, ServerFrame};
use winichat_protocol::codec::{self, DecodeError, Limits};
use winichat_protocol::error_code::ErrorBody;
use winichat_protocol::event::Event;
use winichat_protocol::federation::{FedRequest, FedResponse};
use winichat_protocol::ids::{EventId, GroupId, MediaId, NodeName, UserId};

fn typed<T: DeserializeOwned + Debug>(data: &[u8], limits: &Limits) {
    let walk = codec::check_well_formed(data, limits);
    match (walk, codec::decode::<T>(data, limits)) {
        (Err(walk), Err(error)) => assert_eq!(walk, error),
        (Err(walk), Ok(value)) => panic!("decoded {value:?} from refused bytes: {walk}"),
        (Ok(()), Err(error)) => assert!(matches!(error, DecodeError::Schema(_)), "{error:?}"),
        (Ok(()), Ok(_)) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    // The same sizes with any map keys: every message set refuses non-text keys, the
    // protected-header set allows them, so inclusion is checked against these.
    let client_any_keys = Limits {
        text_keys: false,
        ..Limits::CLIENT_FRAME
    };
    let fed_any_keys = Limits {
        text_keys: false,
        ..Limits::FEDERATION_FRAME
    };
    let header = codec::check_well_formed(data, &Limits::PROTECTED_HEADER);
    let client = codec::check_well_formed(data, &Limits::CLIENT_FRAME);
    let event = codec::check_well_formed(data, &Limits::EVENT);
    let fed = codec::check_well_formed(data, &Limits::FEDERATION_FRAME);
    let client_any = codec::check_well_formed(data, &client_any_keys);
    let fed_any = codec::check_well_formed(data, &fed_any_keys);
    assert_eq!(client, event, "CLIENT_FRAME and EVENT limits are equal");
    if header.is_ok() {
        assert!(
            client_any.is_ok(),
            "PROTECTED_HEADER ok but: {client_any:?}"
        );
    }
    if client.is_ok() {
        assert!(
            client_any.is_ok(),
            "text keys ok but any keys: {client_any:?}"
        );
        assert!(fed.is_ok(), "CLIENT_FRAME ok but FEDERATION_FRAME: {fed:?}");
    }
    if client_any.is_ok() {
        assert!(
            fed_any.is_ok(),
            "client sizes ok but federation sizes: {fed_any:?}"
        );
    }
    if let (Ok(()), Err(error)) = (&fed_any, &fed) {
        assert!(
            matches!(error, DecodeError::NonTextKey { .. }),
            "only the key rule differs: {error:?}"
        );
    }
    if fed_any.is_ok() {
        let value: Value = codec::decode(data, &fed_any_keys)
            .expect("every well-formed item decodes as a CBOR value");
        let bytes = codec::encode(&value).expect("a CBOR value encodes");
        assert_eq!(
            bytes, data,
            "re-encoding a well-formed item changed its bytes"
        );
    }

    typed::<ClientFrame>(data, &Limits::CLIENT_FRAME);
    typed::<ServerFrame>(data, &Limits::CLIENT_FRAME);
    typed::<FedResponse>(data, &Limits::FEDERATION_FRAME);
    typed::<FedRequest>(data, &Limits::FEDERATION_FRAME);
    typed::<Event>(data, &Limits::EVENT);
    typed::<ErrorBody>(data, &Limits::CLIENT_FRAME);
    typed::<MediaId>(data, &Limits::CLIENT_FRAME);
    typed::<NodeName>(data, &Limits::CLIENT_FRAME);
    typed::<UserId>(data, &Limits::CLIENT_FRAME);
    typed::<GroupId>(data, &Limits::CLIENT_FRAME);
    typed::<EventId>(data, &Limits::CLIENT_FRAME);
});
