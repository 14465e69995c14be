use super::*;

#[test]
fn names_people_use_pass() {
    for ok in [
        "Alice",
        "Zoë Müller-Lüdenscheidt",
        "日本語の名前",
        "محمد",
        "שלום עולם",
        "Ana ☕",
        "❤️",
        "👍🏽 thumbs",
        "👨\u{200D}👩\u{200D}👧 family",
        "🏳\u{FE0F}\u{200D}🌈",
        "🧑🏽\u{200D}💻 dev",
        "❤\u{FE0F}\u{200D}🔥",
        "1\u{FE0F}\u{20E3} first",
        "🇫🇷",
        "",
    ] {
        assert_eq!(check_shown_text(ok, Lines::One), Ok(()), "{ok:?}");
    }
}

#[test]
fn invisible_and_direction_changing_characters_are_refused() {
    for (bad, ch, at) in [
        ("\u{202E}SYSTEM", '\u{202E}', 0),
        ("a\u{202A}b", '\u{202A}', 1),
        ("iso\u{2066}late", '\u{2066}', 3),
        ("pop\u{2069}", '\u{2069}', 3),
        ("lrm\u{200E}", '\u{200E}', 3),
        ("\u{200F}rlm", '\u{200F}', 0),
        ("alm\u{061C}", '\u{061C}', 3),
        ("ad\u{200B}min", '\u{200B}', 2),
        ("ad\u{200C}min", '\u{200C}', 2),
        ("ad\u{200D}min", '\u{200D}', 2),
        ("wj\u{2060}", '\u{2060}', 2),
        ("inv\u{2064}", '\u{2064}', 3),
        ("\u{FEFF}bom", '\u{FEFF}', 0),
        ("mvs\u{180E}", '\u{180E}', 3),
        ("tag\u{E0041}", '\u{E0041}', 3),
        ("soft\u{00AD}hyphen", '\u{00AD}', 4),
        ("cgj\u{034F}", '\u{034F}', 3),
        ("\u{3164}", '\u{3164}', 0),
        ("\u{115F}x", '\u{115F}', 0),
        ("vs15\u{FE0E}", '\u{FE0E}', 4),
        ("vs1\u{FE00}", '\u{FE00}', 3),
        ("vs17\u{E0100}", '\u{E0100}', 4),
        ("line\u{2028}sep", '\u{2028}', 4),
        ("para\u{2029}", '\u{2029}', 4),
        ("nul\u{0}", '\u{0}', 3),
        ("tab\t", '\t', 3),
        ("two\nlines", '\n', 3),
        ("cr\r", '\r', 2),
        ("del\u{7F}", '\u{7F}', 3),
        ("c1\u{85}", '\u{85}', 2),
        ("arabic\u{0600}", '\u{0600}', 6),
        // The exceptions are narrow: a presentation selector after a letter, a joiner at an
        // end, after a letter, before a digit or after a lone selector.
        ("a\u{FE0F}", '\u{FE0F}', 1),
        ("\u{FE0F}", '\u{FE0F}', 0),
        ("👨\u{200D}", '\u{200D}', 1),
        ("\u{200D}👩", '\u{200D}', 0),
        ("a\u{200D}👩", '\u{200D}', 1),
        ("👨\u{200D}a", '\u{200D}', 1),
        ("👨\u{200D}1", '\u{200D}', 1),
        ("1\u{200D}2", '\u{200D}', 1),
        ("👨\u{200D}\u{200D}👩", '\u{200D}', 1),
        ("a\u{FE0F}\u{200D}👩", '\u{FE0F}', 1),
        ("👨\u{200D}\u{FE0F}👩", '\u{200D}', 1),
    ] {
        assert_eq!(
            check_shown_text(bad, Lines::One),
            Err(RefusedChar { ch, at }),
            "{bad:?}"
        );
    }
}

#[test]
fn several_lines_allow_only_newline() {
    assert_eq!(check_shown_text("Hello\nworld\n", Lines::Many), Ok(()));
    for bad in ["a\r\nb", "a\tb", "a\u{2028}b", "\u{202E}bio"] {
        assert!(check_shown_text(bad, Lines::Many).is_err(), "{bad:?}");
    }
}

#[test]
fn the_error_names_the_character_in_words_people_can_act_on() {
    let err = check_shown_text("x\u{202E}", Lines::One).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "it has an invisible, control or direction-changing character (U+202E at position 1)"
    );
}
