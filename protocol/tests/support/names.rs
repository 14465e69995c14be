//! The snake_case names the vectors use for error variants.

use winichat_protocol::codec::DecodeError;
use winichat_protocol::cose::VerifyError;
use winichat_protocol::event::LogError;
use winichat_protocol::federation::AddressError;
use winichat_protocol::ids::IdError;
use winichat_protocol::keys::KeyError;

use super::model::{ErrorExpect, Expect};

pub fn decode(e: &DecodeError) -> &'static str {
    match e {
        DecodeError::FrameTooLarge { .. } => "frame_too_large",
        DecodeError::Truncated { .. } => "truncated",
        DecodeError::TrailingBytes { .. } => "trailing_bytes",
        DecodeError::TooDeep { .. } => "too_deep",
        DecodeError::TooManyItems { .. } => "too_many_items",
        DecodeError::StringTooLong { .. } => "string_too_long",
        DecodeError::InvalidUtf8 { .. } => "invalid_utf8",
        DecodeError::IntegerOutOfRange { .. } => "integer_out_of_range",
        DecodeError::NonCanonical { .. } => "non_canonical",
        DecodeError::DuplicateKey { .. } => "duplicate_key",
        DecodeError::NonTextKey { .. } => "non_text_key",
        DecodeError::Unsupported { .. } => "unsupported",
        DecodeError::Schema(_) => "schema",
        _ => "unknown_decode_error",
    }
}

pub fn decode_expect(e: &DecodeError) -> ErrorExpect {
    ErrorExpect {
        error: decode(e).to_owned(),
        cause: None,
        id_error: None,
    }
}

pub fn verify_expect(e: &VerifyError) -> ErrorExpect {
    match e {
        VerifyError::BadSignature => simple("bad_signature"),
        VerifyError::Payload(cause) => ErrorExpect {
            error: "payload".to_owned(),
            cause: Some(decode(cause).to_owned()),
            id_error: None,
        },
        _ => simple("unknown_verify_error"),
    }
}

pub fn key(e: &KeyError) -> &'static str {
    match e {
        KeyError::Invalid => "invalid",
        KeyError::WeakKey => "weak_key",
        _ => "unknown_key_error",
    }
}

pub fn log(e: &LogError) -> &'static str {
    match e {
        LogError::WrongGroup { .. } => "wrong_group",
        LogError::NotSignedByHome { .. } => "not_signed_by_home",
        LogError::ZeroSeq => "zero_seq",
        LogError::AlreadyApplied { .. } => "already_applied",
        LogError::Gap { .. } => "gap",
        LogError::PrevMismatch => "prev_mismatch",
        LogError::TimeWentBack { .. } => "time_went_back",
        _ => "unknown_log_error",
    }
}

pub fn address(e: &AddressError) -> &'static str {
    match e {
        AddressError::OriginMismatch { .. } => "origin_mismatch",
        AddressError::WrongDestination { .. } => "wrong_destination",
        AddressError::Stale { .. } => "stale",
        _ => "unknown_address_error",
    }
}

pub fn id(e: &IdError) -> &'static str {
    match e {
        IdError::TooLong { .. } => "too_long",
        IdError::MissingSigil { .. } => "missing_sigil",
        IdError::MissingNode => "missing_node",
        IdError::InvalidNode(_) => "invalid_node",
        IdError::InvalidUserName => "invalid_user_name",
        IdError::InvalidGroupLocal => "invalid_group_local",
        IdError::InvalidHandle => "invalid_handle",
        IdError::InvalidEventId => "invalid_event_id",
        IdError::InvalidMediaId => "invalid_media_id",
        _ => "unknown_id_error",
    }
}

pub fn simple(name: &str) -> ErrorExpect {
    ErrorExpect {
        error: name.to_owned(),
        cause: None,
        id_error: None,
    }
}

/// The outcome as an `Expect`, for comparison with a vector.
pub fn as_expect<T>(r: &Result<T, ErrorExpect>) -> Expect {
    match r {
        Ok(_) => Expect::valid(),
        Err(e) => Expect::Error(e.clone()),
    }
}
