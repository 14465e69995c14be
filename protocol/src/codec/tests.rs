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
