use std::collections::BTreeMap;

use ciborium::Value;
use serde::{Deserialize, Serialize};

use super::*;

const L: Limits = Limits::CLIENT_FRAME;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Sample {
    name: String,
    count: u64,
}

fn sample_bytes() -> Vec<u8> {
    encode(&Sample {
        name: "héllo".to_owned(),
        count: 7,
    })
    .expect("encodes")
}

#[test]
fn round_trip_is_byte_exact() {
    let bytes = sample_bytes();
    // {"name": "héllo", "count": 7}
    assert_eq!(
        bytes,
        [
            &[0xa2, 0x64][..],
            b"name",
            &[0x66],
            "héllo".as_bytes(),
            &[0x65],
            b"count",
            &[0x07]
        ]
        .concat()
    );
    let value: Sample = decode(&bytes, &L).expect("decodes");
    assert_eq!(encode(&value).expect("encodes"), bytes);
}

#[test]
fn truncated_input_at_every_length() {
    let bytes = sample_bytes();
    for len in 0..bytes.len() {
        assert!(
            matches!(
                decode::<Sample>(&bytes[..len], &L),
                Err(DecodeError::Truncated { .. })
            ),
            "prefix of {len} bytes"
        );
    }
}

#[test]
fn huge_length_headers_are_refused_without_allocating() {
    // text, bytes, array and map heads each claiming 2^32 - 1 entries, with nothing after.
    for (initial, want_string) in [(0x7a, true), (0x5a, true), (0x9a, false), (0xba, false)] {
        let bytes = [initial, 0xff, 0xff, 0xff, 0xff];
        match check_well_formed(&bytes, &L) {
            Err(DecodeError::StringTooLong { len, .. }) if want_string => {
                assert_eq!(len, 0xffff_ffff)
            }
            Err(DecodeError::TooManyItems { len, .. }) if !want_string => {
                assert_eq!(len, 0xffff_ffff)
            }
            other => panic!("{initial:#x}: {other:?}"),
        }
    }
    // And 64-bit lengths.
    let bytes = [0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    assert!(matches!(
        check_well_formed(&bytes, &L),
        Err(DecodeError::StringTooLong { .. })
    ));
}

#[test]
fn ten_thousand_levels_of_nesting() {
    let arrays = [vec![0x81u8; 10_000], vec![0x00]].concat();
    assert!(matches!(
        decode::<Value>(&arrays, &L),
        Err(DecodeError::TooDeep { max: 16, .. })
    ));
    // {"a": {"a": … }}
    let maps: Vec<u8> = std::iter::repeat_n([0xa1u8, 0x61, b'a'], 10_000)
        .flatten()
        .chain([0x00])
        .collect();
    assert!(matches!(
        decode::<Value>(&maps, &L),
        Err(DecodeError::TooDeep { .. })
    ));
    // Exactly at the limit is fine.
    let ok = [vec![0x81u8; 16], vec![0x00]].concat();
    assert!(decode::<Value>(&ok, &L).is_ok());
    let over = [vec![0x81u8; 17], vec![0x00]].concat();
    assert!(decode::<Value>(&over, &L).is_err());
}

#[test]
fn frame_limit() {
    let big = encode(&"x".repeat(70_000)).expect("encodes");
    assert!(matches!(
        decode::<String>(&big, &L),
        Err(DecodeError::FrameTooLarge { max: 65_536, .. })
    ));
    assert!(matches!(
        encode_within(&"x".repeat(70_000), &L),
        Err(EncodeError::Limits(DecodeError::FrameTooLarge { .. }))
    ));
}

#[test]
fn wrong_types_and_missing_fields_are_schema_errors() {
    let wrong = encode(&BTreeMap::from([
        ("name", Value::from(1)),
        ("count", Value::from(1)),
    ]))
    .expect("encodes");
    assert!(matches!(
        decode::<Sample>(&wrong, &L),
        Err(DecodeError::Schema(_))
    ));
    let missing = encode(&BTreeMap::from([("name", "x")])).expect("encodes");
    assert!(
        matches!(decode::<Sample>(&missing, &L), Err(DecodeError::Schema(m)) if m.contains("count"))
    );
    let negative = encode(&BTreeMap::from([
        ("name", Value::from("x")),
        ("count", Value::from(-1)),
    ]))
    .expect("encodes");
    assert!(matches!(
        decode::<Sample>(&negative, &L),
        Err(DecodeError::Schema(_))
    ));
}

#[test]
fn unknown_fields_are_ignored() {
    let extra = encode(&BTreeMap::from([
        ("name", Value::from("x")),
        ("count", Value::from(1)),
        ("future", Value::from(true)),
    ]))
    .expect("encodes");
    assert_eq!(
        decode::<Sample>(&extra, &L),
        Ok(Sample {
            name: "x".to_owned(),
            count: 1
        })
    );
}

#[test]
fn invalid_utf8() {
    let bytes = [0x62, 0xc3, 0x28];
    assert_eq!(
        check_well_formed(&bytes, &L),
        Err(DecodeError::InvalidUtf8 { offset: 0 })
    );
}

#[test]
fn integers_out_of_the_safe_range() {
    let max = encode(&MAX_SAFE_INTEGER).expect("encodes");
    assert!(check_well_formed(&max, &L).is_ok());
    let over = encode(&(MAX_SAFE_INTEGER + 1)).expect("encodes");
    assert!(matches!(
        check_well_formed(&over, &L),
        Err(DecodeError::IntegerOutOfRange { .. })
    ));
    let min = encode(&-(MAX_SAFE_INTEGER as i64)).expect("encodes");
    assert!(check_well_formed(&min, &L).is_ok());
    let under = encode(&(-(MAX_SAFE_INTEGER as i64) - 1)).expect("encodes");
    assert!(matches!(
        check_well_formed(&under, &L),
        Err(DecodeError::IntegerOutOfRange { .. })
    ));
    assert!(matches!(
        check_well_formed(&[0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], &L),
        Err(DecodeError::IntegerOutOfRange { .. })
    ));
}

#[test]
fn only_the_protocol_subset() {
    let cases: [(&[u8], DecodeError); 10] = [
        (&[0x18, 0x05], DecodeError::NonCanonical { offset: 0 }),
        (&[0x19, 0x00, 0x10], DecodeError::NonCanonical { offset: 0 }),
        (
            &[0x9f, 0xff],
            DecodeError::Unsupported {
                offset: 0,
                what: "indefinite length",
            },
        ),
        (
            &[0xff],
            DecodeError::Unsupported {
                offset: 0,
                what: "break",
            },
        ),
        (
            &[0xc1, 0x00],
            DecodeError::Unsupported {
                offset: 0,
                what: "tag",
            },
        ),
        (
            &[0xf9, 0x3c, 0x00],
            DecodeError::Unsupported {
                offset: 0,
                what: "floating-point number",
            },
        ),
        (
            &[0xf7],
            DecodeError::Unsupported {
                offset: 0,
                what: "undefined",
            },
        ),
        (
            &[0xf0],
            DecodeError::Unsupported {
                offset: 0,
                what: "simple value",
            },
        ),
        (
            &[0x1c],
            DecodeError::Unsupported {
                offset: 0,
                what: "reserved additional information",
            },
        ),
        (&[0x00, 0x00], DecodeError::TrailingBytes { offset: 1 }),
    ];
    for (bytes, want) in cases {
        assert_eq!(check_well_formed(bytes, &L), Err(want), "{bytes:02x?}");
    }
    assert!(
        check_well_formed(&[0x83, 0xf4, 0xf5, 0xf6], &L).is_ok(),
        "false, true, null"
    );
}

#[test]
fn duplicate_map_keys() {
    // {"a": 1, "b": 2, "a": 3}
    let bytes = [0xa3, 0x61, b'a', 0x01, 0x61, b'b', 0x02, 0x61, b'a', 0x03];
    assert!(matches!(
        check_well_formed(&bytes, &L),
        Err(DecodeError::DuplicateKey { .. })
    ));
}

#[test]
fn map_keys_are_text() {
    // {0: "x", 1: 7} would otherwise fill `Sample` by field position.
    let bytes = [0xa2, 0x00, 0x61, b'x', 0x01, 0x07];
    assert_eq!(
        decode::<Sample>(&bytes, &L),
        Err(DecodeError::NonTextKey { offset: 1 })
    );
    let header = Limits::PROTECTED_HEADER;
    assert!(check_well_formed(&[0xa1, 0x01, 0x32], &header).is_ok());
}

#[test]
fn too_many_items() {
    let limits = Limits { max_items: 3, ..L };
    assert!(check_well_formed(&[0x83, 0, 0, 0], &limits).is_ok());
    assert!(matches!(
        check_well_formed(&[0x84, 0, 0, 0, 0], &limits),
        Err(DecodeError::TooManyItems { len: 4, max: 3, .. })
    ));
}

/// protocol.md §3.3: a struct is a map, at every depth — from bytes and from a decoded value,
/// for events, federation requests and the structs nested in gateway messages. (ciborium
/// deserializes a struct through `deserialize_map`; the frames' tagged enums, which serde
/// buffers, take their nested structs through `codec::map_only`.)
mod structs_are_maps_only {
    use super::*;
    use crate::Timestamp;
    use crate::event::{Event, EventKind};
    use crate::federation::FedRequest;
    use crate::gateway::chat::{ChatList, PostParams};
    use crate::gateway::decode_params;
    use crate::ids::{GroupId, NodeName, UserId};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Outer {
        inner: Option<Sample>,
        list: Vec<Sample>,
        by_name: BTreeMap<String, Sample>,
    }

    /// Turns the map at `path` (keys, or list indexes as text) into the array of its values.
    fn arrayify(value: &Value, path: &[&str]) -> Value {
        match (value, path.split_first()) {
            (Value::Map(entries), None) => {
                Value::Array(entries.iter().map(|(_, v)| v.clone()).collect())
            }
            (Value::Map(entries), Some((key, rest))) => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let v = if k.as_text() == Some(*key) {
                            arrayify(v, rest)
                        } else {
                            v.clone()
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            (Value::Array(items), Some((index, rest))) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        if i.to_string() == *index {
                            arrayify(v, rest)
                        } else {
                            v.clone()
                        }
                    })
                    .collect(),
            ),
            (other, _) => panic!("no map at {path:?} in {other:?}"),
        }
    }

    fn bytes_of(value: &Value) -> Vec<u8> {
        encode(value).expect("encodes")
    }

    fn sample() -> Sample {
        Sample {
            name: "a".to_owned(),
            count: 1,
        }
    }

    #[test]
    fn nested_structs_as_arrays_are_refused_at_every_depth() {
        let outer = Outer {
            inner: Some(sample()),
            list: vec![sample()],
            by_name: BTreeMap::from([("x".to_owned(), sample())]),
        };
        let value = Value::serialized(&outer).expect("value");
        assert_eq!(decode::<Outer>(&bytes_of(&value), &L), Ok(outer));
        for path in [&[][..], &["inner"], &["list", "0"], &["by_name", "x"]] {
            let bad = bytes_of(&arrayify(&value, path));
            match decode::<Outer>(&bad, &L) {
                Err(DecodeError::Schema(why)) => {
                    assert!(why.contains("expected map"), "{path:?}: {why}");
                }
                other => panic!("{path:?}: {other:?}"),
            }
            let as_value: Value = decode(&bad, &L).expect("well-formed");
            assert!(deserialize_value::<Outer>(&as_value).is_err(), "{path:?}");
        }
    }

    #[test]
    fn events_and_federation_requests_are_maps_only() {
        let event = Event::next(
            GroupId::new(
                "abcdef",
                &NodeName::parse("chat.example.org").expect("node"),
            )
            .expect("group"),
            None,
            Timestamp(1),
            UserId::parse("@alice:chat.example.org").expect("user"),
            EventKind::MemberLeave,
            Value::Map(Vec::new()),
        );
        let value = Value::serialized(&event).expect("value");
        assert_eq!(
            decode::<Event>(&bytes_of(&value), &Limits::EVENT),
            Ok(event)
        );
        assert!(matches!(
            decode::<Event>(&bytes_of(&arrayify(&value, &[])), &Limits::EVENT),
            Err(DecodeError::Schema(_))
        ));
        let request = FedRequest {
            origin: NodeName::parse("a.example").expect("node"),
            destination: NodeName::parse("b.example").expect("node"),
            id: 1,
            ts: Timestamp(2),
            method: "events.push".to_owned(),
            params: Value::Map(Vec::new()),
        };
        let value = Value::serialized(&request).expect("value");
        assert!(decode::<FedRequest>(&bytes_of(&value), &Limits::FEDERATION_FRAME).is_ok());
        assert!(matches!(
            decode::<FedRequest>(&bytes_of(&arrayify(&value, &[])), &Limits::FEDERATION_FRAME),
            Err(DecodeError::Schema(_))
        ));
    }

    #[test]
    fn nested_gateway_structs_are_maps_only() {
        // A chat list whose one summary is an array.
        let list = Value::Map(vec![(
            Value::from("chats"),
            Value::Array(vec![Value::Map(vec![(
                Value::from("group"),
                Value::from(5),
            )])]),
        )]);
        let summary_as_array = arrayify(&list, &["chats", "0"]);
        let err = decode_params::<ChatList>(&summary_as_array).expect_err("refused");
        assert!(err.to_string().contains("expected map"), "{err}");
        // A post whose attachment input is an array of its fields.
        let media = Value::Map(vec![
            (Value::from("node"), Value::from("chat.example.org")),
            (Value::from("sha256"), Value::Bytes(vec![7; 32])),
        ]);
        let post = Value::Map(vec![
            (Value::from("txn"), Value::from("t1")),
            (
                Value::from("group"),
                Value::from("!abcdef:chat.example.org"),
            ),
            (Value::from("text"), Value::from("")),
            (
                Value::from("attachments"),
                Value::Array(vec![Value::Map(vec![(Value::from("media"), media)])]),
            ),
        ]);
        assert!(decode_params::<PostParams>(&post).is_ok());
        for path in [&["attachments", "0"][..], &["attachments", "0", "media"]] {
            assert!(
                decode_params::<PostParams>(&arrayify(&post, path)).is_err(),
                "{path:?}"
            );
        }
    }
}
