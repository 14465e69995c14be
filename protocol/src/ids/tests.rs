use super::*;

#[test]
fn node_names_accept_dns_ip_and_ports() {
    for ok in [
        "chat.example.org",
        "localhost",
        "a-b.c0",
        "127.0.0.1",
        "127.0.0.1:7801",
        "[::1]",
        "[::1]:7801",
        "[2001:db8::1]:443",
        "x.y:65535",
    ] {
        let name = NodeName::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        assert_eq!(name.to_string(), ok);
    }
}

#[test]
fn node_names_refuse_malformed_forms() {
    for bad in [
        "",
        "Chat.example.org",
        "chat..org",
        "-chat.org",
        "chat-.org",
        "chat.org.",
        "chat_org",
        "chat.org:0",
        "chat.org:65536",
        "chat.org:07801",
        "chat.org:",
        "chat.org:port",
        "256.0.0.1",
        "01.2.3.4",
        "[::1",
        "[::1]x",
        "[0:0::1]",
        "[zz::1]",
        "a b",
        "é.org",
        &"a".repeat(64),
        &format!("{}.org", "a.".repeat(130)),
    ] {
        assert!(
            matches!(
                NodeName::parse(bad),
                Err(IdError::InvalidNode(_) | IdError::TooLong { .. })
            ),
            "{bad:?} was accepted"
        );
    }
}

#[test]
fn node_name_host_and_port() {
    let name = NodeName::parse("[::1]:7801").expect("valid");
    assert_eq!((name.host(), name.port()), ("[::1]", Some(7801)));
    let name = NodeName::parse("chat.example.org").expect("valid");
    assert_eq!((name.host(), name.port()), ("chat.example.org", None));
}

#[test]
fn user_ids() {
    let user = UserId::parse("@alice:chat.example.org").expect("valid");
    assert_eq!(user.name(), "alice");
    assert_eq!(user.node().as_str(), "chat.example.org");
    let local = UserId::parse("@bo.b-1_x:127.0.0.1:7800").expect("valid");
    assert_eq!(local.node().port(), Some(7800));
    assert_eq!(
        UserId::new("alice", user.node()).expect("valid"),
        user,
        "new and parse agree"
    );
    let cases: [(&str, IdError); 7] = [
        ("alice:node", IdError::MissingSigil { expected: '@' }),
        ("@alice", IdError::MissingNode),
        ("@al:node", IdError::InvalidUserName),
        ("@Alice:node", IdError::InvalidUserName),
        ("@alice!:node", IdError::InvalidUserName),
        (
            &format!("@{}:node", "a".repeat(33)),
            IdError::InvalidUserName,
        ),
        (
            "@alice:Node",
            IdError::InvalidNode("DNS labels hold only a-z, 0-9 and '-' (lowercase)"),
        ),
    ];
    for (bad, want) in cases {
        assert_eq!(UserId::parse(bad), Err(want), "{bad}");
    }
}

#[test]
fn group_ids_and_handles() {
    let group = GroupId::parse("!k3x9q2:chat.example.org").expect("valid");
    assert_eq!(group.home().as_str(), "chat.example.org");
    for bad in [
        "!k3x9:chat.org",
        "!K3X9Q2:chat.org",
        "!k3x9q2-:chat.org",
        &format!("!{}:n", "a".repeat(33)),
    ] {
        assert_eq!(
            GroupId::parse(bad),
            Err(IdError::InvalidGroupLocal),
            "{bad}"
        );
    }
    assert_eq!(
        GroupId::parse("#k3x9q2:chat.org"),
        Err(IdError::MissingSigil { expected: '!' })
    );

    let handle = Handle::parse("#rustaceans:chat.example.org").expect("valid");
    assert_eq!(handle.name(), "rustaceans");
    assert!(Handle::parse("#_ab:n").is_ok());
    assert!(Handle::parse(&format!("#a{}:n", "b".repeat(50))).is_ok());
    for bad in [
        "#ab:n",
        "#1abc:n",
        "#Abc:n",
        "#ab-c:n",
        &format!("#a{}:n", "b".repeat(51)),
    ] {
        assert_eq!(Handle::parse(bad), Err(IdError::InvalidHandle), "{bad}");
    }
}

#[test]
fn event_ids_have_one_text_form() {
    let id = EventId::of_payload(b"payload");
    let text = id.to_string();
    assert_eq!(text.len(), 44);
    assert_eq!(EventId::parse(&text), Ok(id));
    assert_eq!(EventId::from_hash(*id.as_bytes()), id);
    // The last base64 character carries 4 unused bits: any other value is a second spelling.
    let last = text.chars().last().expect("non-empty");
    let mut twin = text[..43].to_owned();
    twin.push(if last == 'A' { 'B' } else { 'A' });
    if EventId::parse(&twin).is_ok() {
        assert_ne!(EventId::parse(&twin), Ok(id));
    }
    for bad in [
        "",
        "$",
        "$abc",
        &text[1..],
        &format!("{text}A"),
        &format!("${}", "+".repeat(43)),
    ] {
        assert!(EventId::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn non_canonical_event_id_bits_are_refused() {
    // 43 base64 characters hold 258 bits; the last 2 must be zero. 'B' sets one of them.
    let text = format!("${}B", "A".repeat(42));
    assert_eq!(EventId::parse(&text), Err(IdError::InvalidEventId));
}

#[test]
fn media_ids() {
    let text = format!("chat.example.org/{}", "ab".repeat(32));
    let media = MediaId::parse(&text).expect("valid");
    assert_eq!(media.sha256, [0xab; 32]);
    assert_eq!(media.to_string(), text);
    for bad in [
        format!("chat.example.org/{}", "AB".repeat(32)),
        format!("chat.example.org/{}", "ab".repeat(31)),
        format!("chat.example.org/../{}", "ab".repeat(32)),
        "ab".repeat(32),
    ] {
        assert!(MediaId::parse(&bad).is_err(), "{bad}");
    }
}

#[test]
fn overlong_ids_are_refused_before_parsing() {
    let long = format!("@alice:{}", "a.".repeat(200));
    assert_eq!(
        UserId::parse(&long),
        Err(IdError::TooLong { max: MAX_ID_LEN })
    );
}

#[test]
fn ids_serialize_as_text_and_refuse_bad_text() {
    let user = UserId::parse("@alice:chat.example.org").expect("valid");
    let bytes = crate::codec::encode(&user).expect("encodes");
    assert_eq!(bytes[0] >> 5, 3, "a text string");
    let back: UserId =
        crate::codec::decode(&bytes, &crate::codec::Limits::CLIENT_FRAME).expect("decodes");
    assert_eq!(back, user);
    let bad = crate::codec::encode("@Alice:chat.example.org").expect("encodes");
    assert!(matches!(
        crate::codec::decode::<UserId>(&bad, &crate::codec::Limits::CLIENT_FRAME),
        Err(crate::codec::DecodeError::Schema(_))
    ));
}
