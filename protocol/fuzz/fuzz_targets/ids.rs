//! Every identifier parser. The first byte picks the parser (0 node, 1 user, 2 group,
//! 3 handle, 4 event id, 5 media id, anything else: all of them); the rest is the text
//! (lossily decoded if not UTF-8).
//!
//! Properties: an accepted text is its own `Display` form and parses again to an equal id;
//! its CBOR form decodes to the same id; the parts (`node`, `name`, `home`, `port`, hash)
//! rebuild it; the sigils make the qualified forms mutually exclusive.
#![no_main]

use core::fmt::{Debug, Display};

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use winichat_protocol::codec::{self, Limits};
use winichat_protocol::ids::{
    EventId, GroupId, Handle, IdError, MAX_ID_LEN, MediaId, NodeName, UserId, check_handle_name,
    check_user_name,
};

/// Common properties; returns the parsed id.
fn text_id<T>(text: &str, parse: fn(&str) -> Result<T, IdError>) -> Option<T>
where
    T: Display + Debug + PartialEq + Serialize + DeserializeOwned,
{
    let id = parse(text).ok()?;
    let shown = id.to_string();
    assert_eq!(shown, text, "an accepted id is not its own display form");
    assert_eq!(parse(&shown).as_ref(), Ok(&id));
    let bytes = codec::encode(&id).expect("an id encodes");
    let back: T = codec::decode(&bytes, &Limits::CLIENT_FRAME).expect("an id's CBOR decodes");
    assert_eq!(back, id);
    Some(id)
}

fn node(text: &str) -> bool {
    let Some(node) = text_id(text, NodeName::parse) else {
        return false;
    };
    assert!(text.len() <= MAX_ID_LEN);
    assert!(text.starts_with(node.host()));
    match node.port() {
        Some(port) => {
            assert!(port > 0);
            assert_eq!(text, format!("{}:{port}", node.host()));
        }
        None => assert_eq!(node.host(), text),
    }
    true
}

fn user(text: &str) -> bool {
    let Some(user) = text_id(text, UserId::parse) else {
        return false;
    };
    assert!(text.len() <= MAX_ID_LEN);
    check_user_name(user.name()).expect("the name of a user id is a valid user name");
    assert_eq!(UserId::new(user.name(), user.node()).as_ref(), Ok(&user));
    true
}

fn group(text: &str) -> bool {
    let Some(group) = text_id(text, GroupId::parse) else {
        return false;
    };
    assert!(text.len() <= MAX_ID_LEN);
    let local = text
        .strip_prefix('!')
        .and_then(|rest| rest.strip_suffix(group.home().as_str()))
        .and_then(|rest| rest.strip_suffix(':'))
        .expect("a group id is !local:home");
    assert_eq!(GroupId::new(local, group.home()).as_ref(), Ok(&group));
    true
}

fn handle(text: &str) -> bool {
    let Some(handle) = text_id(text, Handle::parse) else {
        return false;
    };
    assert!(text.len() <= MAX_ID_LEN);
    check_handle_name(handle.name()).expect("the name of a handle is valid");
    assert_eq!(
        Handle::new(handle.name(), handle.node()).as_ref(),
        Ok(&handle)
    );
    true
}

fn event_id(text: &str) -> bool {
    let Some(id) = text_id(text, EventId::parse) else {
        return false;
    };
    assert_eq!(text.len(), 44);
    assert_eq!(EventId::from_hash(*id.as_bytes()), id);
    true
}

fn media(text: &str) {
    let Ok(media) = MediaId::parse(text) else {
        return;
    };
    assert_eq!(media.to_string(), text);
    assert_eq!(MediaId::parse(&media.to_string()).as_ref(), Ok(&media));
    NodeName::parse(media.node.as_str()).expect("the node of a media id is valid");
    let bytes = codec::encode(&media).expect("a media id encodes");
    let back: MediaId = codec::decode(&bytes, &Limits::CLIENT_FRAME).expect("decodes");
    assert_eq!(back, media);
}

fuzz_target!(|data: &[u8]| {
    let Some((selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match selector {
        0 => _ = node(&text),
        1 => _ = user(&text),
        2 => _ = group(&text),
        3 => _ = handle(&text),
        4 => _ = event_id(&text),
        5 => media(&text),
        _ => {
            let qualified = [user(&text), group(&text), handle(&text), event_id(&text)];
            assert!(
                qualified.iter().filter(|ok| **ok).count() <= 1,
                "one text parsed as two kinds of id: {text:?}"
            );
            if node(&text) {
                assert!(
                    !qualified.contains(&true),
                    "a node name with a sigil: {text:?}"
                );
            }
            media(&text);
        }
    }
});
