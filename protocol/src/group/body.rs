//! [`Body`]: an event's body decoded by its kind.
//!
//! [`Body::decode`] is the only way a body enters the rules: it accepts a CBOR map alone (serde
//! would also take a struct as an array, by field position — a second encoding the protocol
//! does not allow), and checks every limit of [`super`] (text lengths, colours, emoji, counts)
//! so that [`super::GroupState::apply`] and [`super::authorize`] see only well-formed bodies.
//!
//! The shown-text rule (protocol.md §2.1: names, descriptions, reasons, file names) came after
//! bodies were signed without it, so it is a rule for new bodies only ([`Rules::New`]: what a
//! home node checks before it signs); a body already signed by its home node — read back from
//! a log, or received by a replica — is held to every other rule ([`Rules::Signed`]) and is
//! never refused for its shown text (protocol.md §5.5).

use std::collections::BTreeSet;

use ciborium::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

use super::bodies::*;
use super::{
    EVERYONE, GroupKind, MAX_DESCRIPTION_CHARS, MAX_EMOJI_BYTES, MAX_MENTIONS, MAX_NAME_CHARS,
    MAX_REASON_CHARS, MAX_ROLE_NAME_CHARS, MAX_ROLES, MAX_TEXT_CHARS, Permissions, Visibility,
};
use crate::codec::MAX_SAFE_INTEGER;
use crate::event::EventKind;
use crate::media::{check_attachments, check_signed_attachments};
use crate::text::{Lines, check_shown_text};

/// A decoded event body, one variant per kind this version knows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Body {
    GroupCreate(GroupCreate),
    GroupUpdate(GroupUpdate),
    GroupDelete,
    MemberInvite(MemberInvite),
    MemberJoin(MemberJoin),
    MemberLeave,
    MemberKick(MemberKick),
    MemberBan(MemberBan),
    MemberUnban(MemberUnban),
    MemberRoles(MemberRoles),
    RoleCreate(RoleCreate),
    RoleUpdate(RoleUpdate),
    RoleDelete(RoleDelete),
    OwnerTransfer(OwnerTransfer),
    MsgPost(MsgPost),
    MsgEdit(MsgEdit),
    MsgDelete(MsgDelete),
    MsgReact(MsgReact),
    MsgPin(MsgPin),
    /// A kind this version does not know: stored and relayed, changes nothing.
    Unknown,
}

/// An event body that does not fit its kind.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("bad {kind} body: {reason}")]
pub struct BodyError {
    /// The event kind.
    pub kind: String,
    /// What is wrong.
    pub reason: String,
}

/// The result of one limit check: the reason it failed.
type Check = Result<(), String>;

/// Which rules a body is held to (protocol.md §5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// A body a home node is about to sign: every rule, shown text (§2.1) included.
    New,
    /// A body its home node already signed (read back from a log, or received): every rule
    /// but shown text, so that history signed before that rule still folds and reads.
    Signed,
}

impl Body {
    /// Decodes `body` as the body of a new event of `kind` ([`Rules::New`]): what a home node
    /// checks before it signs. The body must be a map; unknown kinds give [`Body::Unknown`].
    pub fn decode(kind: &EventKind, body: &Value) -> Result<Body, BodyError> {
        Self::decode_with(kind, body, Rules::New)
    }

    /// Decodes the body of an event its home node already signed ([`Rules::Signed`]): a
    /// stored event read back, or one a replica receives.
    pub fn decode_signed(kind: &EventKind, body: &Value) -> Result<Body, BodyError> {
        Self::decode_with(kind, body, Rules::Signed)
    }

    /// Decodes `body` as the body of `kind` under `rules`.
    pub fn decode_with(kind: &EventKind, body: &Value, rules: Rules) -> Result<Body, BodyError> {
        let fail = |reason: String| BodyError {
            kind: kind.as_str().to_owned(),
            reason,
        };
        check_map(body).map_err(fail)?;
        check_media_maps(kind, body).map_err(fail)?;
        let decoded = match kind {
            EventKind::GroupCreate => Body::GroupCreate(fields(body).map_err(fail)?),
            EventKind::GroupUpdate => Body::GroupUpdate(fields(body).map_err(fail)?),
            EventKind::GroupDelete => Body::GroupDelete,
            EventKind::MemberInvite => Body::MemberInvite(fields(body).map_err(fail)?),
            EventKind::MemberJoin => Body::MemberJoin(fields(body).map_err(fail)?),
            EventKind::MemberLeave => Body::MemberLeave,
            EventKind::MemberKick => Body::MemberKick(fields(body).map_err(fail)?),
            EventKind::MemberBan => Body::MemberBan(fields(body).map_err(fail)?),
            EventKind::MemberUnban => Body::MemberUnban(fields(body).map_err(fail)?),
            EventKind::MemberRoles => Body::MemberRoles(fields(body).map_err(fail)?),
            EventKind::RoleCreate => Body::RoleCreate(fields(body).map_err(fail)?),
            EventKind::RoleUpdate => Body::RoleUpdate(fields(body).map_err(fail)?),
            EventKind::RoleDelete => Body::RoleDelete(fields(body).map_err(fail)?),
            EventKind::OwnerTransfer => Body::OwnerTransfer(fields(body).map_err(fail)?),
            EventKind::MsgPost => Body::MsgPost(fields(body).map_err(fail)?),
            EventKind::MsgEdit => Body::MsgEdit(fields(body).map_err(fail)?),
            EventKind::MsgDelete => Body::MsgDelete(fields(body).map_err(fail)?),
            EventKind::MsgReact => Body::MsgReact(fields(body).map_err(fail)?),
            EventKind::MsgPin => Body::MsgPin(fields(body).map_err(fail)?),
            EventKind::Unknown(_) => Body::Unknown,
        };
        decoded.check_limits(rules).map_err(fail)?;
        Ok(decoded)
    }

    /// The kind this body belongs to (`None` for [`Body::Unknown`]).
    pub fn kind(&self) -> Option<EventKind> {
        Some(match self {
            Body::GroupCreate(_) => EventKind::GroupCreate,
            Body::GroupUpdate(_) => EventKind::GroupUpdate,
            Body::GroupDelete => EventKind::GroupDelete,
            Body::MemberInvite(_) => EventKind::MemberInvite,
            Body::MemberJoin(_) => EventKind::MemberJoin,
            Body::MemberLeave => EventKind::MemberLeave,
            Body::MemberKick(_) => EventKind::MemberKick,
            Body::MemberBan(_) => EventKind::MemberBan,
            Body::MemberUnban(_) => EventKind::MemberUnban,
            Body::MemberRoles(_) => EventKind::MemberRoles,
            Body::RoleCreate(_) => EventKind::RoleCreate,
            Body::RoleUpdate(_) => EventKind::RoleUpdate,
            Body::RoleDelete(_) => EventKind::RoleDelete,
            Body::OwnerTransfer(_) => EventKind::OwnerTransfer,
            Body::MsgPost(_) => EventKind::MsgPost,
            Body::MsgEdit(_) => EventKind::MsgEdit,
            Body::MsgDelete(_) => EventKind::MsgDelete,
            Body::MsgReact(_) => EventKind::MsgReact,
            Body::MsgPin(_) => EventKind::MsgPin,
            Body::Unknown => return None,
        })
    }

    /// The body as the map an event carries (an empty map for the kinds without fields and
    /// for [`Body::Unknown`]).
    pub fn to_value(&self) -> Value {
        match self {
            Body::GroupCreate(b) => map_of(b),
            Body::GroupUpdate(b) => map_of(b),
            Body::GroupDelete | Body::MemberLeave | Body::Unknown => Value::Map(Vec::new()),
            Body::MemberInvite(b) => map_of(b),
            Body::MemberJoin(b) => map_of(b),
            Body::MemberKick(b) => map_of(b),
            Body::MemberBan(b) => map_of(b),
            Body::MemberUnban(b) => map_of(b),
            Body::MemberRoles(b) => map_of(b),
            Body::RoleCreate(b) => map_of(b),
            Body::RoleUpdate(b) => map_of(b),
            Body::RoleDelete(b) => map_of(b),
            Body::OwnerTransfer(b) => map_of(b),
            Body::MsgPost(b) => map_of(b),
            Body::MsgEdit(b) => map_of(b),
            Body::MsgDelete(b) => map_of(b),
            Body::MsgReact(b) => map_of(b),
            Body::MsgPin(b) => map_of(b),
        }
    }

    /// Checks the limits serde cannot express.
    fn check_limits(&self, rules: Rules) -> Check {
        match self {
            Body::GroupCreate(b) => check_group_create(b, rules),
            Body::GroupUpdate(b) => check_group_update(b, rules),
            Body::MemberKick(MemberKick { reason, .. })
            | Body::MemberBan(MemberBan { reason, .. }) => {
                check_max_chars("reason", reason, MAX_REASON_CHARS)?;
                check_shown("reason", reason, Lines::Many, rules)
            }
            Body::MemberRoles(b) => check_role_list(&b.roles),
            Body::RoleCreate(b) => check_role_create(b, rules),
            Body::RoleUpdate(b) => check_role_update(b, rules),
            Body::MsgPost(b) => {
                if b.attachments.is_empty() {
                    check_message_text(&b.text)?;
                } else {
                    check_max_chars("caption", &b.text, MAX_TEXT_CHARS)?;
                }
                if b.mentions.len() > MAX_MENTIONS {
                    return Err(format!("more than {MAX_MENTIONS} mentions"));
                }
                match rules {
                    Rules::New => check_attachments(&b.attachments),
                    Rules::Signed => check_signed_attachments(&b.attachments),
                }
                .map_err(|e| format!("attachments: {e}"))
            }
            Body::MsgEdit(b) => check_message_text(&b.text),
            Body::MsgReact(b) => check_emoji(&b.emoji),
            Body::GroupDelete
            | Body::MemberInvite(_)
            | Body::MemberJoin(_)
            | Body::MemberLeave
            | Body::MemberUnban(_)
            | Body::RoleDelete(_)
            | Body::OwnerTransfer(_)
            | Body::MsgDelete(_)
            | Body::MsgPin(_)
            | Body::Unknown => Ok(()),
        }
    }
}

/// Refuses anything but a map with text keys (serde's derived field visitors would also take
/// a field's index as its key).
fn check_map(body: &Value) -> Check {
    let Value::Map(entries) = body else {
        return Err("expected a map".to_owned());
    };
    if entries.iter().any(|(key, _)| !key.is_text()) {
        return Err("map keys must be text".to_owned());
    }
    Ok(())
}

/// The media fields added with attachments are maps all the way down: each attachment, and each
/// media id in it or in a group photo (serde's derived structs would also take an array of the
/// fields in order, a second encoding the protocol does not allow).
fn check_media_maps(kind: &EventKind, body: &Value) -> Check {
    fn field<'v>(map: &'v Value, name: &str) -> Option<&'v Value> {
        match map {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_text() == Some(name))
                .map(|(_, v)| v),
            _ => None,
        }
    }
    let media_map = |value: Option<&Value>, what: &str| match value {
        None | Some(Value::Null) | Some(Value::Map(_)) => Ok(()),
        Some(_) => Err(format!("{what} is a media id map")),
    };
    match kind {
        EventKind::MsgPost => {
            if let Some(forwarded) = field(body, "forwarded") {
                check_map(forwarded).map_err(|e| format!("forwarded: {e}"))?;
            }
            let Some(Value::Array(items)) = field(body, "attachments") else {
                return Ok(());
            };
            for item in items {
                check_map(item).map_err(|e| format!("an attachment: {e}"))?;
                media_map(field(item, "media"), "an attachment's media")?;
                media_map(field(item, "poster"), "an attachment's poster")?;
            }
            Ok(())
        }
        EventKind::GroupUpdate => media_map(field(body, "photo"), "the photo"),
        _ => Ok(()),
    }
}

/// Deserializes the fields of a body already known to be a map.
fn fields<T: DeserializeOwned>(body: &Value) -> Result<T, String> {
    crate::codec::deserialize_value(body)
}

/// Serializes a body struct. These structs hold only strings, integers, booleans, byte strings,
/// lists and maps of them, which always serialize; the empty-map fallback is never taken.
fn map_of<T: Serialize>(body: &T) -> Value {
    Value::serialized(body).unwrap_or_else(|_| Value::Map(Vec::new()))
}

fn check_group_create(b: &GroupCreate, rules: Rules) -> Check {
    check_description(&b.description, rules)?;
    match b.kind {
        GroupKind::Direct => {
            if !b.name.is_empty() || !b.description.is_empty() {
                return Err("a direct chat has no name or description".to_owned());
            }
            if b.visibility != Visibility::Private {
                return Err("a direct chat is private".to_owned());
            }
            if b.members.len() != 1 {
                return Err("a direct chat has exactly one other member".to_owned());
            }
        }
        GroupKind::Group => {
            check_group_name(&b.name, rules)?;
            if !b.members.is_empty() {
                return Err("a group starts with its owner alone".to_owned());
            }
        }
    }
    if (b.visibility == Visibility::Public) != b.handle.is_some() {
        return Err("a handle is present exactly when the group is public".to_owned());
    }
    Ok(())
}

fn check_group_update(b: &GroupUpdate, rules: Rules) -> Check {
    if let Some(name) = &b.name {
        check_group_name(name, rules)?;
    }
    if let Some(description) = &b.description {
        check_description(description, rules)?;
    }
    if b.visibility == Some(Visibility::Private) && b.handle.is_some() {
        return Err("a private group has no handle".to_owned());
    }
    Ok(())
}

fn check_role_create(b: &RoleCreate, rules: Rules) -> Check {
    if b.role == EVERYONE {
        return Err("a custom role cannot have the everyone id".to_owned());
    }
    check_role_name(&b.name, rules)?;
    check_colour(&b.colour)?;
    check_permissions(b.permissions)?;
    check_custom_rank(b.rank)
}

fn check_role_update(b: &RoleUpdate, rules: Rules) -> Check {
    if b.role == EVERYONE && (b.name.is_some() || b.colour.is_some() || b.rank.is_some()) {
        return Err("the everyone role takes only permissions".to_owned());
    }
    if let Some(name) = &b.name {
        check_role_name(name, rules)?;
    }
    if let Some(colour) = &b.colour {
        check_colour(colour)?;
    }
    if let Some(permissions) = b.permissions {
        check_permissions(permissions)?;
    }
    if let Some(rank) = b.rank {
        check_custom_rank(rank)?;
    }
    Ok(())
}

/// A role list to assign: at most [`MAX_ROLES`] custom roles, each once.
fn check_role_list(roles: &[super::RoleId]) -> Check {
    if roles.len() > MAX_ROLES {
        return Err(format!("more than {MAX_ROLES} roles"));
    }
    if roles.contains(&EVERYONE) {
        return Err("the everyone role is implied, not assigned".to_owned());
    }
    if roles.iter().collect::<BTreeSet<_>>().len() != roles.len() {
        return Err("a role is listed twice".to_owned());
    }
    Ok(())
}

/// A group name: not blank, at most [`MAX_NAME_CHARS`] characters, shown text on one line
/// (protocol.md §2.1).
fn check_group_name(name: &str, rules: Rules) -> Check {
    if name.trim().is_empty() {
        return Err("the name is empty".to_owned());
    }
    check_max_chars("name", name, MAX_NAME_CHARS)?;
    check_shown("name", name, Lines::One, rules)
}

/// A role name: not blank, at most [`MAX_ROLE_NAME_CHARS`] characters, shown text on one line.
fn check_role_name(name: &str, rules: Rules) -> Check {
    if name.trim().is_empty() {
        return Err("the role name is empty".to_owned());
    }
    check_max_chars("role name", name, MAX_ROLE_NAME_CHARS)?;
    check_shown("role name", name, Lines::One, rules)
}

/// A group description: at most [`MAX_DESCRIPTION_CHARS`] characters, shown text on several
/// lines.
fn check_description(description: &str, rules: Rules) -> Check {
    check_max_chars("description", description, MAX_DESCRIPTION_CHARS)?;
    check_shown("description", description, Lines::Many, rules)
}

/// The shown-text rule, for new bodies only (see [`Rules`]).
fn check_shown(what: &str, text: &str, lines: Lines, rules: Rules) -> Check {
    match rules {
        Rules::New => check_shown_text(text, lines).map_err(|e| format!("the {what}: {e}")),
        Rules::Signed => Ok(()),
    }
}

/// Message text: 1 to [`MAX_TEXT_CHARS`] characters, not only whitespace.
fn check_message_text(text: &str) -> Check {
    if text.trim().is_empty() {
        return Err("the text is empty".to_owned());
    }
    check_max_chars("text", text, MAX_TEXT_CHARS)
}

/// A reaction: 1 to [`MAX_EMOJI_BYTES`] bytes with no control character or whitespace.
fn check_emoji(emoji: &str) -> Check {
    if emoji.is_empty() || emoji.len() > MAX_EMOJI_BYTES {
        return Err(format!("an emoji is 1 to {MAX_EMOJI_BYTES} bytes"));
    }
    if emoji.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("an emoji has no control characters or whitespace".to_owned());
    }
    Ok(())
}

/// A colour: empty, or `#rrggbb` in lowercase hex.
fn check_colour(colour: &str) -> Check {
    let ok = colour.is_empty()
        || colour.strip_prefix('#').is_some_and(|hex| {
            hex.len() == 6
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
    if ok {
        Ok(())
    } else {
        Err("a colour is empty or #rrggbb in lowercase hex".to_owned())
    }
}

/// Permissions travel as an integer JavaScript holds exactly.
fn check_permissions(permissions: Permissions) -> Check {
    if permissions.0 > MAX_SAFE_INTEGER {
        return Err("permissions must be below 2^53".to_owned());
    }
    Ok(())
}

/// Custom role ranks start at 1 (0 is the owner's).
fn check_custom_rank(rank: u32) -> Check {
    if rank == 0 {
        return Err("custom role ranks start at 1".to_owned());
    }
    Ok(())
}

fn check_max_chars(what: &str, text: &str, max: usize) -> Check {
    if text.chars().count() > max {
        return Err(format!("the {what} is longer than {max} characters"));
    }
    Ok(())
}
