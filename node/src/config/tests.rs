use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn file(text: &str) -> Option<ConfigFile<'_>> {
    Some(ConfigFile {
        path: Path::new("/x.toml"),
        text,
    })
}

fn load(text: Option<&str>, vars: &[(&str, &str)], flags: &Overrides) -> Result<Config, String> {
    Config::load(text.and_then(file), &env(vars), flags).map_err(|e| e.to_string())
}

#[test]
fn defaults_need_nothing() {
    let config = Config::defaults().expect("defaults");
    assert_eq!(config.http, "127.0.0.1:7800".parse().expect("addr"));
    assert_eq!(config.quic, "127.0.0.1:7801".parse().expect("addr"));
    assert_eq!(config.data_dir, PathBuf::from("./winichat-data"));
    assert_eq!(config.database_url, "sqlite");
    assert_eq!(config.name.to_string(), "127.0.0.1:7800");
    assert!(config.name_defaulted);
    assert_eq!(config.log_format, LogFormat::Text);
    assert!(!config.name_is_unspecified_address());
}

#[test]
fn flags_beat_env_beat_file() {
    let text = "http = \"127.0.0.1:1001\"\nquic = \"127.0.0.1:2001\"\nname = \"file.example\"\n";
    let from_file = load(Some(text), &[], &Overrides::default()).expect("file");
    assert_eq!(from_file.http.port(), 1001);
    assert_eq!(from_file.quic.port(), 2001);
    assert_eq!(from_file.name.to_string(), "file.example");
    assert!(!from_file.name_defaulted);

    let vars = [
        ("WINICHAT_HTTP", "127.0.0.1:1002"),
        ("WINICHAT_NAME", "env.example"),
    ];
    let from_env = load(Some(text), &vars, &Overrides::default()).expect("env");
    assert_eq!(from_env.http.port(), 1002);
    assert_eq!(
        from_env.quic.port(),
        2001,
        "untouched key keeps the file's value"
    );
    assert_eq!(from_env.name.to_string(), "env.example");

    let flags = Overrides {
        http: Some("127.0.0.1:1003".into()),
        name: Some("flag.example".into()),
        ..Overrides::default()
    };
    let from_flags = load(Some(text), &vars, &flags).expect("flags");
    assert_eq!(from_flags.http.port(), 1003);
    assert_eq!(from_flags.name.to_string(), "flag.example");
}

#[test]
fn every_environment_variable_is_read() {
    let vars = [
        ("WINICHAT_NAME", "chat.example.org"),
        ("WINICHAT_DATA_DIR", "/srv/wc"),
        ("WINICHAT_HTTP", "0.0.0.0:80"),
        ("WINICHAT_QUIC", "[::1]:443"),
        ("WINICHAT_DATABASE_URL", "postgres://u@h/db"),
        ("WINICHAT_LOG_FORMAT", "json"),
        ("WINICHAT_UNRELATED", "ignored"),
    ];
    let config = load(None, &vars, &Overrides::default()).expect("env");
    assert_eq!(config.name.to_string(), "chat.example.org");
    assert_eq!(config.data_dir, PathBuf::from("/srv/wc"));
    assert_eq!(config.http, "0.0.0.0:80".parse().expect("addr"));
    assert_eq!(config.quic, "[::1]:443".parse().expect("addr"));
    assert_eq!(config.database_url, "postgres://u@h/db");
    assert_eq!(config.log_format, LogFormat::Json);
}

#[test]
fn name_defaults_to_the_http_address_and_flags_unspecified_ones() {
    let flags = Overrides {
        http: Some("0.0.0.0:7800".into()),
        ..Overrides::default()
    };
    let config = load(None, &[], &flags).expect("load");
    assert_eq!(config.name.to_string(), "0.0.0.0:7800");
    assert!(config.name_is_unspecified_address());

    let flags = Overrides {
        http: Some("0.0.0.0:7800".into()),
        name: Some("chat.example.org".into()),
        ..Overrides::default()
    };
    assert!(
        !load(None, &[], &flags)
            .expect("load")
            .name_is_unspecified_address()
    );

    let flags = Overrides {
        name: Some("[::]:7800".into()),
        ..Overrides::default()
    };
    assert!(
        load(None, &[], &flags)
            .expect("load")
            .name_is_unspecified_address()
    );
}

#[test]
fn unknown_key_names_the_key_and_line() {
    let err = load(
        Some("# comment\nquic = \"127.0.0.1:1\"\nhtp = \"x\"\n"),
        &[],
        &Overrides::default(),
    )
    .expect_err("must fail");
    assert!(
        err.starts_with("invalid config /x.toml: unknown key \"htp\" at line 3"),
        "{err}"
    );
    assert!(!err.contains('\n'), "one line: {err}");
}

#[test]
fn bad_value_in_file_names_key_value_and_line() {
    let err = load(Some("\nhttp = \"nope\"\n"), &[], &Overrides::default()).expect_err("must fail");
    assert!(
        err.starts_with("invalid config /x.toml: http (line 2) = \"nope\": invalid socket address"),
        "{err}"
    );
}

#[test]
fn wrong_type_in_file_names_the_line() {
    let err = load(Some("log_format = 5\n"), &[], &Overrides::default()).expect_err("must fail");
    assert!(
        err.starts_with("invalid config /x.toml: line 1 (log_format = 5): "),
        "{err}"
    );
    assert!(err.contains("invalid type"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}

#[test]
fn toml_syntax_error_is_one_line() {
    let err = load(Some("http = \n"), &[], &Overrides::default()).expect_err("must fail");
    assert!(err.starts_with("invalid config /x.toml: line 1"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}

#[test]
fn bad_values_from_env_and_flags_name_their_source() {
    let err = load(
        None,
        &[("WINICHAT_QUIC", "localhost")],
        &Overrides::default(),
    )
    .expect_err("must fail");
    assert!(
        err.starts_with("invalid config: WINICHAT_QUIC = \"localhost\": invalid socket address"),
        "{err}"
    );

    let flags = Overrides {
        log_format: Some("xml".into()),
        ..Overrides::default()
    };
    let err = load(None, &[], &flags).expect_err("must fail");
    assert!(
        err.starts_with("invalid config: --log-format \"xml\": expected"),
        "{err}"
    );

    let flags = Overrides {
        name: Some("Not A Name!".into()),
        ..Overrides::default()
    };
    let err = load(None, &[], &flags).expect_err("must fail");
    assert!(
        err.starts_with("invalid config: --name \"Not A Name!\": "),
        "{err}"
    );

    let err = load(
        None,
        &[("WINICHAT_DATABASE_URL", "")],
        &Overrides::default(),
    )
    .expect_err("must fail");
    assert!(
        err.contains("WINICHAT_DATABASE_URL = \"\": must not be empty"),
        "{err}"
    );
}

#[test]
fn unreadable_file_error_names_the_path() {
    let err = ConfigError::Read {
        path: "/etc/wc.toml".into(),
        source: std::io::Error::from(std::io::ErrorKind::NotFound),
    };
    assert!(
        err.to_string()
            .starts_with("cannot read config /etc/wc.toml: ")
    );
}

const EXAMPLE: &str = include_str!("../../config.example.toml");

#[test]
fn example_file_is_accepted_and_equals_the_defaults() {
    let example = load(Some(EXAMPLE), &[], &Overrides::default()).expect("example parses");
    assert_eq!(example, Config::defaults().expect("defaults"));
}

#[test]
fn example_file_documents_every_key_and_each_commented_value_is_valid() {
    for key in KEYS {
        let set = EXAMPLE.lines().any(|l| l.starts_with(&format!("{key} = ")));
        let commented = EXAMPLE
            .lines()
            .any(|l| l.starts_with(&format!("# {key} = ")));
        assert!(
            set || commented,
            "config.example.toml does not document {key}"
        );
    }
    // Uncomment each `# key = value` line in turn (dropping the key's active line, if any): the
    // documented alternative must be accepted and must take effect.
    for (i, line) in EXAMPLE.lines().enumerate() {
        let Some(setting) = line.strip_prefix("# ") else {
            continue;
        };
        let Some((key, _)) = setting.split_once(" = ") else {
            continue;
        };
        if !KEYS.contains(&key) {
            continue;
        }
        let active = format!("{key} = ");
        // A key that needs another one set is tried with it.
        let partner = match key {
            "tls_key" | "tls_redirect_http" => Some("# tls_cert = "),
            _ => None,
        };
        let text: String = EXAMPLE
            .lines()
            .enumerate()
            .map(|(j, l)| {
                if j == i {
                    setting
                } else if partner.is_some_and(|p| l.starts_with(p)) {
                    l.strip_prefix("# ").unwrap_or(l)
                } else if l.starts_with(&active) {
                    ""
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let config = load(Some(&text), &[], &Overrides::default())
            .unwrap_or_else(|e| panic!("uncommenting line {} fails: {e}", i + 1));
        assert_ne!(
            config,
            Config::defaults().expect("defaults"),
            "line {} has no effect",
            i + 1
        );
    }
}

#[test]
fn media_settings_from_file_and_env_with_defaults_and_ranges() {
    let defaults = Config::defaults().expect("defaults").media;
    assert_eq!(defaults.max_upload_bytes, 100 * 1024 * 1024);
    assert_eq!(defaults.quota_bytes, 2 * 1024 * 1024 * 1024);
    assert_eq!(defaults.url_ttl_secs, 3600);
    assert_eq!(defaults.gc_grace_secs, 86_400);

    let text = "media_max_upload_bytes = 1000\nmedia_quota_bytes = 5000\n\
                media_url_ttl_secs = 120\nmedia_gc_grace_secs = 0\n";
    let from_file = load(Some(text), &[], &Overrides::default())
        .expect("file")
        .media;
    assert_eq!(from_file.max_upload_bytes, 1000);
    assert_eq!(from_file.quota_bytes, 5000);
    assert_eq!(from_file.url_ttl_secs, 120);
    assert_eq!(from_file.gc_grace_secs, 0);

    let vars = [
        ("WINICHAT_MEDIA_MAX_UPLOAD_BYTES", "2000"),
        ("WINICHAT_MEDIA_QUOTA_BYTES", "6000"),
        ("WINICHAT_MEDIA_URL_TTL_SECS", "600"),
        ("WINICHAT_MEDIA_GC_GRACE_SECS", "60"),
    ];
    let from_env = load(Some(text), &vars, &Overrides::default())
        .expect("env")
        .media;
    assert_eq!(from_env.max_upload_bytes, 2000);
    assert_eq!(from_env.quota_bytes, 6000);
    assert_eq!(from_env.url_ttl_secs, 600);
    assert_eq!(from_env.gc_grace_secs, 60);

    for (var, value) in [
        ("WINICHAT_MEDIA_MAX_UPLOAD_BYTES", "0"),
        ("WINICHAT_MEDIA_MAX_UPLOAD_BYTES", "lots"),
        ("WINICHAT_MEDIA_MAX_UPLOAD_BYTES", "2000000000000"),
        ("WINICHAT_MEDIA_QUOTA_BYTES", "0"),
        ("WINICHAT_MEDIA_QUOTA_BYTES", "-1"),
        ("WINICHAT_MEDIA_URL_TTL_SECS", "59"),
        ("WINICHAT_MEDIA_URL_TTL_SECS", "604801"),
        ("WINICHAT_MEDIA_GC_GRACE_SECS", "31536001"),
    ] {
        let err = load(None, &[(var, value)], &Overrides::default()).expect_err(value);
        assert!(
            err.starts_with(&format!(
                "invalid config: {var} = \"{value}\": must be a number"
            )),
            "{err}"
        );
    }
    let err = load(
        Some("\nmedia_url_ttl_secs = 5\n"),
        &[],
        &Overrides::default(),
    )
    .expect_err("too short");
    assert!(
        err.contains("media_url_ttl_secs (line 2) = \"5\": must be a number of seconds from 60"),
        "{err}"
    );
}

#[test]
fn upload_and_registration_limits_from_file_and_env() {
    let defaults = Config::defaults().expect("defaults");
    assert_eq!(defaults.media.max_concurrent_uploads, 4);
    assert_eq!(defaults.auth.registrations_per_ip_per_hour, 20);

    let text = "media_max_concurrent_uploads = 8\nregistrations_per_ip_per_hour = 100\n";
    let from_file = load(Some(text), &[], &Overrides::default()).expect("file");
    assert_eq!(from_file.media.max_concurrent_uploads, 8);
    assert_eq!(from_file.auth.registrations_per_ip_per_hour, 100);

    let vars = [
        ("WINICHAT_MEDIA_MAX_CONCURRENT_UPLOADS", "2"),
        ("WINICHAT_REGISTRATIONS_PER_IP_PER_HOUR", "3"),
    ];
    let from_env = load(Some(text), &vars, &Overrides::default()).expect("env");
    assert_eq!(from_env.media.max_concurrent_uploads, 2);
    assert_eq!(from_env.auth.registrations_per_ip_per_hour, 3);

    for (var, value) in [
        ("WINICHAT_MEDIA_MAX_CONCURRENT_UPLOADS", "0"),
        ("WINICHAT_MEDIA_MAX_CONCURRENT_UPLOADS", "1001"),
        ("WINICHAT_REGISTRATIONS_PER_IP_PER_HOUR", "0"),
        ("WINICHAT_REGISTRATIONS_PER_IP_PER_HOUR", "1000001"),
        ("WINICHAT_REGISTRATIONS_PER_IP_PER_HOUR", "many"),
    ] {
        let err = load(None, &[(var, value)], &Overrides::default()).expect_err(value);
        assert!(
            err.starts_with(&format!(
                "invalid config: {var} = \"{value}\": must be a number"
            )),
            "{err}"
        );
    }
}

#[test]
fn connection_and_resume_limits_from_file_and_env_with_ranges() {
    let defaults = Config::defaults().expect("defaults");
    assert_eq!(
        defaults.connections,
        crate::connections::ConnectionSettings::default()
    );
    let text = "http_header_timeout_secs = 3\nmax_connections = 50\n\
                max_connections_per_ip = 5\nresume_window_bytes = 4096\n\
                resume_total_bytes = 65536\nsend_queue_bytes = 131072\n\
                request_rate_burst = 80\nrequest_rate_per_sec = 30\n";
    let config = load(Some(text), &[], &Overrides::default()).expect("file");
    assert_eq!(
        config.connections.header_timeout,
        std::time::Duration::from_secs(3)
    );
    assert_eq!(config.connections.max_connections, 50);
    assert_eq!(config.connections.max_connections_per_ip, 5);
    assert_eq!(config.gateway.resume_window_bytes, 4096);
    assert_eq!(config.gateway.resume_total_bytes, 65536);
    assert_eq!(config.gateway.send_queue_bytes, 131072);
    assert_eq!(
        (config.gateway.rate_burst, config.gateway.rate_per_sec),
        (80, 30)
    );
    assert_eq!(
        (defaults.gateway.rate_burst, defaults.gateway.rate_per_sec),
        (40, 20),
        "the request limit's defaults are the protocol's (gateway.md §3)"
    );
    let vars = [
        ("WINICHAT_MAX_CONNECTIONS_PER_IP", "7"),
        ("WINICHAT_REQUEST_RATE_PER_SEC", "25"),
    ];
    let config = load(Some(text), &vars, &Overrides::default()).expect("env");
    assert_eq!(config.connections.max_connections_per_ip, 7);
    assert_eq!(config.gateway.rate_per_sec, 25);
    for bad in [
        "http_header_timeout_secs = 0",
        "max_connections = 0",
        "send_queue_bytes = 1000",
        "request_rate_burst = 0",
        "request_rate_per_sec = 0",
    ] {
        let e = load(Some(bad), &[], &Overrides::default()).expect_err(bad);
        assert!(e.to_string().contains("must be a number"), "{e}");
    }
}

#[test]
fn trusted_proxies_from_file_and_env() {
    let local: std::net::IpAddr = "127.0.0.1".parse().expect("ip");
    let inner: std::net::IpAddr = "10.1.2.3".parse().expect("ip");
    let defaults = Config::defaults().expect("defaults");
    assert!(defaults.connections.trusted_proxies.is_empty());
    let text = "trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n";
    let config = load(Some(text), &[], &Overrides::default()).expect("file");
    let trusted = &config.connections.trusted_proxies;
    assert!(trusted.contains(local) && trusted.contains(inner));
    assert!(!trusted.contains("192.0.2.1".parse().expect("ip")));
    let vars = [("WINICHAT_TRUSTED_PROXIES", " ::1, fd00::/8 ")];
    let config = load(Some(text), &vars, &Overrides::default()).expect("env");
    let trusted = &config.connections.trusted_proxies;
    assert!(trusted.contains("fd00::7".parse().expect("ip")) && !trusted.contains(local));
    let e = load(
        Some("\ntrusted_proxies = [\"10.0.0.0/8\", \"proxy.local\"]\n"),
        &[],
        &Overrides::default(),
    )
    .expect_err("not an address");
    let e = e.to_string();
    assert!(
        e.contains("trusted_proxies (line 2)") && e.contains("proxy.local"),
        "{e}"
    );
    let vars = [("WINICHAT_TRUSTED_PROXIES", "10.0.0.0/40")];
    let e = load(None, &vars, &Overrides::default()).expect_err("bad prefix");
    assert!(e.to_string().contains("WINICHAT_TRUSTED_PROXIES"), "{e}");
}

const PEER_KEY: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

#[test]
fn federation_defaults() {
    let federation = Config::defaults().expect("defaults").federation;
    assert_eq!(federation, crate::federation::FederationSettings::default());
    assert_eq!(federation.discovery, crate::federation::Discovery::Https);
    assert!(federation.peers.is_empty());
}

#[test]
fn federation_section_is_read() {
    let text = format!(
        "[federation]\ndiscovery = \"pinned\"\npublic_quic = [\"203.0.113.7:7801\"]\n\
         allow = [\"b.example\"]\ndeny = [\"bad.example\"]\nrequest_timeout_secs = 3\n\
         max_streams_per_peer = 8\nmax_request_memory_mib = 16\n\n[[federation.peers]]\nname = \"b.example\"\n\
         quic = \"127.0.0.1:7811\"\nkey = \"{PEER_KEY}\"\n"
    );
    let federation = load(Some(&text), &[], &Overrides::default())
        .expect("file")
        .federation;
    assert_eq!(federation.discovery, crate::federation::Discovery::Pinned);
    assert_eq!(
        federation.public_quic,
        ["203.0.113.7:7801".parse::<SocketAddr>().expect("addr")]
    );
    assert_eq!(
        federation.allow,
        ["b.example".parse::<NodeName>().expect("name")]
    );
    assert_eq!(
        federation.deny,
        ["bad.example".parse::<NodeName>().expect("name")]
    );
    assert_eq!(
        federation.request_timeout,
        std::time::Duration::from_secs(3)
    );
    assert_eq!(federation.max_streams_per_peer, 8);
    assert_eq!(federation.max_request_memory, 16 * 1024 * 1024);
    assert_eq!(federation.peers.len(), 1);
    assert_eq!(federation.peers[0].name.to_string(), "b.example");
    assert_eq!(federation.peers[0].quic.port(), 7811);
}

#[test]
fn pinned_peers_add_up_from_file_env_and_flags() {
    let text = format!(
        "[[federation.peers]]\nname = \"a.example\"\nquic = \"127.0.0.1:1\"\nkey = \"{PEER_KEY}\"\n"
    );
    let env_peers = format!("b.example=127.0.0.1:2/{PEER_KEY}, a.example=127.0.0.1:3/{PEER_KEY}");
    let flags = Overrides {
        peers: vec![format!("c.example=[::1]:4/{PEER_KEY}")],
        ..Overrides::default()
    };
    let peers = load(Some(&text), &[("WINICHAT_PEERS", &env_peers)], &flags)
        .expect("peers")
        .federation
        .peers;
    let described: Vec<String> = peers
        .iter()
        .map(|p| format!("{}={}", p.name, p.quic))
        .collect();
    assert_eq!(
        described,
        [
            "b.example=127.0.0.1:2",
            "a.example=127.0.0.1:3",
            "c.example=[::1]:4"
        ],
        "a later source re-pinning a name replaces it"
    );
}

#[test]
fn bad_federation_values_name_their_key() {
    let cases = [
        (
            "[federation]\ndiscovery = \"dns\"\n",
            "federation.discovery (line 2)",
        ),
        (
            "[federation]\npublic_quic = [\"nope\"]\n",
            "federation.public_quic (line 2)",
        ),
        (
            "[federation]\ndeny = [\"Bad Name\"]\n",
            "federation.deny (line 2)",
        ),
        (
            "[federation]\nrequest_timeout_secs = 0\n",
            "federation.request_timeout_secs",
        ),
        (
            "[federation]\nmax_streams_per_peer = 0\n",
            "federation.max_streams_per_peer",
        ),
        (
            "[federation]\nmax_request_memory_mib = 3\n",
            "federation.max_request_memory_mib",
        ),
        (
            "[[federation.peers]]\nname = \"b.example\"\nquic = \"127.0.0.1:1\"\nkey = \"short\"\n",
            "federation.peers (line 2)",
        ),
    ];
    for (text, expected) in cases {
        let err = load(Some(text), &[], &Overrides::default()).expect_err(text);
        assert!(err.contains(expected), "{text}: {err}");
    }
    let err =
        load(Some("[federation]\nfoo = 1\n"), &[], &Overrides::default()).expect_err("unknown key");
    assert!(err.contains("foo"), "{err}");

    let err = load(
        None,
        &[("WINICHAT_PEERS", "b.example")],
        &Overrides::default(),
    )
    .expect_err("env");
    assert!(
        err.contains("WINICHAT_PEERS") && err.contains("NAME=QUIC_ADDR/KEY"),
        "{err}"
    );
    let flags = Overrides {
        peers: vec![format!("b.example=localhost:1/{PEER_KEY}")],
        ..Overrides::default()
    };
    let err = load(None, &[], &flags).expect_err("flag");
    assert!(err.contains("--peer") && err.contains("IP:PORT"), "{err}");
}

#[test]
fn weak_peer_keys_are_refused() {
    // The identity point: any signature would verify under it.
    let weak = "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let err = parse_peer(&format!("b.example=127.0.0.1:1/{weak}")).expect_err("weak");
    assert!(err.contains("small order"), "{err}");
    assert!(parse_peer(&format!("b.example=127.0.0.1:1/{PEER_KEY}")).is_ok());
}

mod reference_checks {
    use super::*;
    use crate::config::reference::{KeyDoc, REFERENCE, render};

    /// A file setting `doc`'s key (`federation.x` inside `[federation]`) to a TOML value, with
    /// the line the key needs, if any.
    fn file_setting(doc: &KeyDoc, value: &str) -> String {
        let needs = doc
            .needs
            .map(|line| format!("{line}\n"))
            .unwrap_or_default();
        match doc.key.split_once('.') {
            Some((table, leaf)) => format!("{needs}[{table}]\n{leaf} = {value}\n"),
            None => format!("{needs}{} = {value}\n", doc.key),
        }
    }

    #[test]
    fn the_reference_covers_exactly_the_keys() {
        let top: Vec<&str> = REFERENCE
            .iter()
            .map(|d| d.key.split('.').next().unwrap_or(d.key))
            .collect();
        for key in KEYS {
            assert!(top.contains(&key), "the reference lacks {key}");
        }
        for key in &top {
            assert!(
                KEYS.contains(key),
                "the reference documents unknown key {key}"
            );
        }
        for doc in REFERENCE {
            let leaf = doc.key.rsplit('.').next().unwrap_or(doc.key);
            let in_example = EXAMPLE.lines().any(|l| {
                let l = l.trim_start_matches("# ");
                l.starts_with(&format!("{leaf} = ")) || l.starts_with(&format!("[[{}]]", doc.key))
            });
            assert!(in_example, "config.example.toml does not show {}", doc.key);
        }
    }

    #[test]
    fn documented_defaults_are_the_defaults() {
        let defaults = Config::defaults().expect("defaults");
        for doc in REFERENCE {
            let Some(value) = doc.default_toml else {
                continue;
            };
            let text = file_setting(doc, value);
            let loaded = load(Some(&text), &[], &Overrides::default())
                .unwrap_or_else(|e| panic!("{}: default {value} refused: {e}", doc.key));
            assert_eq!(loaded, defaults, "{}: {value} is not the default", doc.key);
            // An active line in the example file states the same default.
            let leaf = doc.key.rsplit('.').next().unwrap_or(doc.key);
            for line in EXAMPLE.lines() {
                if let Some(shown) = line.strip_prefix(&format!("{leaf} = ")) {
                    assert_eq!(shown, value, "config.example.toml's {leaf} default");
                }
            }
        }
    }

    /// The top-level keys the loader knows, read from its "unknown key" error.
    fn expected_fields() -> Vec<String> {
        let err = load(Some("no_such_key_here = 1\n"), &[], &Overrides::default())
            .expect_err("unknown key refused");
        let (_, list) = err
            .split_once("known keys: ")
            .unwrap_or_else(|| panic!("no key list in: {err}"));
        let list = list.split(')').next().unwrap_or_default();
        list.split(", ").map(str::to_owned).collect()
    }

    #[test]
    fn every_key_the_loader_knows_is_in_the_reference() {
        let documented: Vec<&str> = REFERENCE.iter().map(|d| d.key).collect();
        let top = expected_fields();
        assert!(top.len() >= KEYS.len(), "{top:?}");
        for key in &top {
            assert!(KEYS.contains(&key.as_str()), "KEYS lacks {key}");
        }
        // The `[federation]` keys the example file documents (the loader's error for that
        // table lists the top-level keys).
        let section = EXAMPLE
            .split_once("# [federation]")
            .map(|(_, rest)| rest)
            .unwrap_or_default();
        // Up to the pinned peers' own table (name, quic, key), which is `federation.peers`.
        let section = section
            .split_once("# [[federation.peers]]")
            .map_or(section, |(before, _)| before);
        let federation_keys: Vec<&str> = section
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k))
            .filter(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .collect();
        assert!(federation_keys.len() >= 7, "{federation_keys:?}");
        for key in federation_keys {
            let full = format!("federation.{key}");
            assert!(
                documented.contains(&full.as_str()),
                "the reference lacks {full}"
            );
        }
    }

    #[test]
    fn documented_examples_variables_and_flags_take_effect() {
        use clap::Parser as _;
        let defaults = Config::defaults().expect("defaults");
        for doc in REFERENCE {
            let text = file_setting(doc, doc.example_toml);
            let from_file = load(Some(&text), &[], &Overrides::default())
                .unwrap_or_else(|e| panic!("{}: example refused: {e}", doc.key));
            // What the key needs, alone: the base the variable and the flag are added to.
            let base = doc.needs.map(|line| format!("{line}\n"));
            let without = load(base.as_deref(), &[], &Overrides::default())
                .unwrap_or_else(|e| panic!("{}: needs refused: {e}", doc.key));
            assert_ne!(
                from_file, without,
                "{}: the example changes nothing",
                doc.key
            );
            assert_ne!(
                from_file, defaults,
                "{}: the example changes nothing",
                doc.key
            );
            // The variable and the flag, given the same value, set what the file sets.
            if let Some((var, value)) = doc.env {
                let from_env = load(base.as_deref(), &[(var, value)], &Overrides::default())
                    .unwrap_or_else(|e| panic!("{var}={value} refused: {e}"));
                assert_eq!(from_env, from_file, "{var} does not set {}", doc.key);
            }
            if let Some(flag) = doc.flag {
                let value = doc
                    .env
                    .map_or_else(|| doc.example_toml.trim_matches('"'), |(_, v)| v);
                let cli = crate::cli::Cli::try_parse_from(["winichat", flag, value, "serve"])
                    .unwrap_or_else(|e| panic!("{flag} {value}: {e}"));
                let from_flag = load(base.as_deref(), &[], &cli.overrides())
                    .unwrap_or_else(|e| panic!("{flag} {value} refused: {e}"));
                assert_eq!(from_flag, from_file, "{flag} does not set {}", doc.key);
            }
        }
    }

    #[test]
    fn the_readme_table_names_real_keys_and_variables() {
        let readme = include_str!("../../../README.md");
        let vars: Vec<&str> = REFERENCE
            .iter()
            .filter_map(|d| d.env.map(|e| e.0))
            .collect();
        let mut rows = 0;
        for line in readme.lines().filter(|l| l.starts_with("| ")) {
            for word in line.split(['`', ' ', '/', '(', ')', ',', '=']) {
                // WINICHAT_LOG is the log filter, read by the logger rather than the config.
                if word.starts_with("WINICHAT_") && word != "WINICHAT_LOG" {
                    assert!(vars.contains(&word), "README names unknown variable {word}");
                    rows += 1;
                }
            }
        }
        assert!(rows >= 10, "the README's settings table was not found");
    }

    #[test]
    fn configuration_md_is_generated_from_the_reference() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md");
        let expected = render();
        if std::env::var_os("WINICHAT_BLESS").is_some() {
            std::fs::write(&path, &expected).expect("write docs/configuration.md");
        }
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            actual == expected,
            "docs/configuration.md is not the rendered reference; regenerate it with \
             WINICHAT_BLESS=1 cargo nextest run -p winichat-node -E 'test(configuration_md)'"
        );
    }
}

#[test]
fn tls_and_metrics_listeners_from_file_env_and_flags() {
    let defaults = Config::defaults().expect("defaults");
    assert_eq!(defaults.listeners, ListenerSettings::default());
    assert!(!defaults.auth.secure_cookie);

    let text = "tls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"\ntls_redirect_http = \"127.0.0.1:80\"\n\
                metrics_listen = \"127.0.0.1:9464\"\n";
    let config = load(Some(text), &[], &Overrides::default()).expect("file");
    let tls = config.listeners.tls.clone().expect("tls");
    assert_eq!(
        (tls.cert, tls.key),
        (PathBuf::from("/c.pem"), PathBuf::from("/k.pem"))
    );
    assert_eq!(
        config.listeners.redirect_http,
        Some("127.0.0.1:80".parse().expect("addr"))
    );
    assert_eq!(
        config.listeners.metrics,
        Some("127.0.0.1:9464".parse().expect("addr"))
    );
    assert!(config.auth.secure_cookie, "on TLS the node's URL is https");

    // The key defaults to the certificate file; flags beat the environment.
    let flags = Overrides {
        tls_cert: Some("/flag.pem".into()),
        metrics_listen: Some("127.0.0.1:1".into()),
        ..Overrides::default()
    };
    let config = load(
        None,
        &[
            ("WINICHAT_TLS_CERT", "/env.pem"),
            ("WINICHAT_METRICS_LISTEN", "127.0.0.1:2"),
        ],
        &flags,
    )
    .expect("flags");
    let tls = config.listeners.tls.expect("tls");
    assert_eq!(tls.cert, PathBuf::from("/flag.pem"));
    assert_eq!(tls.key, PathBuf::from("/flag.pem"));
    assert_eq!(config.listeners.metrics.map(|a| a.port()), Some(1));

    // An explicit http:// public_url keeps cookies plain even on TLS.
    let config = load(
        Some("tls_cert = \"/c.pem\"\npublic_url = \"http://chat.test\"\n"),
        &[],
        &Overrides::default(),
    )
    .expect("public_url");
    assert!(!config.auth.secure_cookie);

    let err =
        load(Some("tls_key = \"/k.pem\"\n"), &[], &Overrides::default()).expect_err("key alone");
    assert!(err.contains("tls_key needs tls_cert"), "{err}");
    let err = load(
        None,
        &[("WINICHAT_TLS_REDIRECT_HTTP", "127.0.0.1:80")],
        &Overrides::default(),
    )
    .expect_err("redirect without tls");
    assert!(
        err.contains("WINICHAT_TLS_REDIRECT_HTTP") && err.contains("needs tls_cert"),
        "{err}"
    );
    let err = load(
        Some("metrics_listen = \"nope\"\n"),
        &[],
        &Overrides::default(),
    )
    .expect_err("bad address");
    assert!(err.contains("metrics_listen (line 1)"), "{err}");
}
