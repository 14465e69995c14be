//! The configuration reference: every key with its type, default, environment variable and
//! flag. `docs/configuration.md` is rendered from [`REFERENCE`] (a test checks it is up to
//! date), and tests check each entry against the loader itself: the documented default is the
//! default, the documented variable and flag are read, and the key is in [`super::KEYS`] and in
//! `config.example.toml`.

/// One configuration key as the reference documents it.
#[derive(Debug, Clone, Copy)]
pub struct KeyDoc {
    /// The key in the TOML file; `federation.x` is `x` in the `[federation]` table.
    pub key: &'static str,
    /// Its type, as written in the reference.
    pub kind: &'static str,
    /// The default, in words or as a TOML value.
    pub default: &'static str,
    /// A TOML value equal to the default, when the default can be written as one.
    pub default_toml: Option<&'static str>,
    /// A valid TOML value other than the default (the tests set it and see it take effect).
    pub example_toml: &'static str,
    /// The environment variable, and a valid value for it other than the default.
    pub env: Option<(&'static str, &'static str)>,
    /// The command-line flag (global, before the command).
    pub flag: Option<&'static str>,
    /// What it does, in one sentence or two.
    pub summary: &'static str,
}

/// Every key, in the order of `config.example.toml`.
pub const REFERENCE: &[KeyDoc] = &[
    KeyDoc {
        key: "name",
        kind: "string (DNS name, IPv4 or [IPv6], optional port)",
        default: "the HTTP address as text",
        default_toml: None,
        example_toml: "\"chat.example.org\"",
        env: Some(("WINICHAT_NAME", "chat.example.org")),
        flag: Some("--name"),
        summary: "What other nodes and user addresses (`@alice:NAME`) call this node. Recorded in the database on first start; it must not change afterwards.",
    },
    KeyDoc {
        key: "data_dir",
        kind: "path",
        default: "`./winichat-data`",
        default_toml: Some("\"./winichat-data\""),
        example_toml: "\"/var/lib/winichat\"",
        env: Some(("WINICHAT_DATA_DIR", "/var/lib/winichat")),
        flag: Some("--data-dir"),
        summary: "The identity key, the SQLite database (by default) and the media.",
    },
    KeyDoc {
        key: "http",
        kind: "socket address",
        default: "`127.0.0.1:7800`",
        default_toml: Some("\"127.0.0.1:7800\""),
        example_toml: "\"0.0.0.0:7800\"",
        env: Some(("WINICHAT_HTTP", "0.0.0.0:7800")),
        flag: Some("--http"),
        summary: "HTTP listener: the web app, the API, the WebSocket gateway, media, `/healthz` and the node document.",
    },
    KeyDoc {
        key: "quic",
        kind: "socket address",
        default: "`127.0.0.1:7801`",
        default_toml: Some("\"127.0.0.1:7801\""),
        example_toml: "\"0.0.0.0:7801\"",
        env: Some(("WINICHAT_QUIC", "0.0.0.0:7801")),
        flag: Some("--quic"),
        summary: "QUIC (UDP) listener for federation with other nodes.",
    },
    KeyDoc {
        key: "database_url",
        kind: "string",
        default: "`sqlite` (the file `winichat.db` in the data directory)",
        default_toml: Some("\"sqlite\""),
        example_toml: "\"postgres://winichat@127.0.0.1:5432/winichat\"",
        env: Some((
            "WINICHAT_DATABASE_URL",
            "postgres://winichat@127.0.0.1:5432/winichat",
        )),
        flag: Some("--database-url"),
        summary: "`sqlite`, `sqlite:///path/to/file.db` or `postgres://USER:PASSWORD@HOST:PORT/DATABASE`; migrations run at start.",
    },
    KeyDoc {
        key: "log_format",
        kind: "`text` or `json`",
        default: "`text`",
        default_toml: Some("\"text\""),
        example_toml: "\"json\"",
        env: Some(("WINICHAT_LOG_FORMAT", "json")),
        flag: Some("--log-format"),
        summary: "Log lines for people, or one JSON object per line. The filter is `WINICHAT_LOG` (e.g. `info`, `winichat_node=debug`).",
    },
    KeyDoc {
        key: "web_dir",
        kind: "path",
        default: "`client-web/dist` of the source tree the binary was built from",
        default_toml: None,
        example_toml: "\"/usr/share/winichat/web\"",
        env: Some(("WINICHAT_WEB_DIR", "/usr/share/winichat/web")),
        flag: Some("--web-dir"),
        summary: "The built web app served at `/`.",
    },
    KeyDoc {
        key: "allowed_origins",
        kind: "list of origins (environment: comma-separated)",
        default: "none",
        default_toml: Some("[]"),
        example_toml: "[\"https://app.example.net\"]",
        env: Some(("WINICHAT_ALLOWED_ORIGINS", "https://app.example.net")),
        flag: None,
        summary: "Origins besides the node's own that may open the WebSocket gateway.",
    },
    KeyDoc {
        key: "registration",
        kind: "`open`, `invite` or `closed`",
        default: "`open`",
        default_toml: Some("\"open\""),
        example_toml: "\"invite\"",
        env: Some(("WINICHAT_REGISTRATION", "invite")),
        flag: None,
        summary: "Who may create an account: anyone, holders of a registration token, or only accounts the operator creates.",
    },
    KeyDoc {
        key: "public_url",
        kind: "URL",
        default: "unset (plain HTTP, local use)",
        default_toml: None,
        example_toml: "\"https://chat.example.org\"",
        env: Some(("WINICHAT_PUBLIC_URL", "https://chat.example.org")),
        flag: None,
        summary: "The URL people open; `https://` marks the refresh cookie `Secure`.",
    },
    KeyDoc {
        key: "access_token_ttl_secs",
        kind: "integer, 1 to 900",
        default: "600",
        default_toml: Some("600"),
        example_toml: "300",
        env: Some(("WINICHAT_ACCESS_TOKEN_TTL_SECS", "300")),
        flag: None,
        summary: "Lifetime of an access token in seconds; clients renew it silently.",
    },
    KeyDoc {
        key: "registrations_per_ip_per_hour",
        kind: "integer, 1 to 1,000,000",
        default: "20",
        default_toml: Some("20"),
        example_toml: "100",
        env: Some(("WINICHAT_REGISTRATIONS_PER_IP_PER_HOUR", "100")),
        flag: None,
        summary: "Accounts one client address may register per hour; more get 429.",
    },
    KeyDoc {
        key: "media_max_upload_bytes",
        kind: "integer bytes, 1 to 1 TiB",
        default: "104857600 (100 MiB)",
        default_toml: Some("104857600"),
        example_toml: "26214400",
        env: Some(("WINICHAT_MEDIA_MAX_UPLOAD_BYTES", "26214400")),
        flag: None,
        summary: "The largest upload accepted; larger ones get 413.",
    },
    KeyDoc {
        key: "media_quota_bytes",
        kind: "integer bytes, 1 to 1 PiB",
        default: "2147483648 (2 GiB)",
        default_toml: Some("2147483648"),
        example_toml: "10737418240",
        env: Some(("WINICHAT_MEDIA_QUOTA_BYTES", "10737418240")),
        flag: None,
        summary: "Each user's storage quota: the sum of their distinct uploads.",
    },
    KeyDoc {
        key: "media_url_ttl_secs",
        kind: "integer seconds, 60 to 604800",
        default: "3600",
        default_toml: Some("3600"),
        example_toml: "900",
        env: Some(("WINICHAT_MEDIA_URL_TTL_SECS", "900")),
        flag: None,
        summary: "Lifetime of a signed media URL.",
    },
    KeyDoc {
        key: "media_gc_grace_secs",
        kind: "integer seconds, 0 to 31536000",
        default: "86400",
        default_toml: Some("86400"),
        example_toml: "604800",
        env: Some(("WINICHAT_MEDIA_GC_GRACE_SECS", "604800")),
        flag: None,
        summary: "How long an upload nothing refers to is kept before it is removed.",
    },
    KeyDoc {
        key: "media_max_concurrent_uploads",
        kind: "integer, 1 to 1000",
        default: "4",
        default_toml: Some("4"),
        example_toml: "8",
        env: Some(("WINICHAT_MEDIA_MAX_CONCURRENT_UPLOADS", "8")),
        flag: None,
        summary: "Uploads one user may have in progress at once; one more gets 429.",
    },
    KeyDoc {
        key: "http_header_timeout_secs",
        kind: "integer seconds, 1 to 300",
        default: "10",
        default_toml: Some("10"),
        example_toml: "30",
        env: Some(("WINICHAT_HTTP_HEADER_TIMEOUT_SECS", "30")),
        flag: None,
        summary: "Time a connection has to send a request's headers; also the longest it may stay silent between requests.",
    },
    KeyDoc {
        key: "max_connections",
        kind: "integer, 1 to 10,000,000",
        default: "10000",
        default_toml: Some("10000"),
        example_toml: "50000",
        env: Some(("WINICHAT_MAX_CONNECTIONS", "50000")),
        flag: None,
        summary: "Open connections in all, WebSockets included; more are answered 503 (lowered to fit the open-file limit).",
    },
    KeyDoc {
        key: "max_connections_per_ip",
        kind: "integer, 1 to 10,000,000",
        default: "256",
        default_toml: Some("256"),
        example_toml: "1024",
        env: Some(("WINICHAT_MAX_CONNECTIONS_PER_IP", "1024")),
        flag: None,
        summary: "Open connections from one address (an IPv6 /64 counts as one); loopback is not capped per address.",
    },
    KeyDoc {
        key: "trusted_proxies",
        kind: "list of addresses or blocks (environment: comma-separated)",
        default: "none",
        default_toml: Some("[]"),
        example_toml: "[\"127.0.0.1\", \"::1\"]",
        env: Some(("WINICHAT_TRUSTED_PROXIES", "127.0.0.1,::1")),
        flag: None,
        summary: "Reverse proxies whose `X-Forwarded-For` is believed; per-client limits then count the client behind them.",
    },
    KeyDoc {
        key: "resume_window_bytes",
        kind: "integer bytes, 0 to 1 GiB",
        default: "1048576 (1 MiB)",
        default_toml: Some("1048576"),
        example_toml: "262144",
        env: Some(("WINICHAT_RESUME_WINDOW_BYTES", "262144")),
        flag: None,
        summary: "Pushes kept per user for resuming a WebSocket connection.",
    },
    KeyDoc {
        key: "resume_total_bytes",
        kind: "integer bytes, 0 to 1 TiB",
        default: "134217728 (128 MiB)",
        default_toml: Some("134217728"),
        example_toml: "536870912",
        env: Some(("WINICHAT_RESUME_TOTAL_BYTES", "536870912")),
        flag: None,
        summary: "Pushes kept for resuming, all users together (a push to many users counts once).",
    },
    KeyDoc {
        key: "send_queue_bytes",
        kind: "integer bytes, 64 KiB to 1 GiB",
        default: "1048576 (1 MiB)",
        default_toml: Some("1048576"),
        example_toml: "4194304",
        env: Some(("WINICHAT_SEND_QUEUE_BYTES", "4194304")),
        flag: None,
        summary: "Unsent pushes queued for one WebSocket connection before it is closed with 4006.",
    },
    KeyDoc {
        key: "request_rate_burst",
        kind: "integer, 1 to 1,000,000",
        default: "40",
        default_toml: Some("40"),
        example_toml: "80",
        env: Some(("WINICHAT_REQUEST_RATE_BURST", "80")),
        flag: None,
        summary: "Requests one WebSocket connection may send in a burst.",
    },
    KeyDoc {
        key: "request_rate_per_sec",
        kind: "integer, 1 to 1,000,000",
        default: "20",
        default_toml: Some("20"),
        example_toml: "50",
        env: Some(("WINICHAT_REQUEST_RATE_PER_SEC", "50")),
        flag: None,
        summary: "Requests per second one WebSocket connection may sustain after its burst.",
    },
    KeyDoc {
        key: "federation.discovery",
        kind: "`https`, `http` or `pinned`",
        default: "`https`",
        default_toml: Some("\"https\""),
        example_toml: "\"pinned\"",
        env: None,
        flag: None,
        summary: "How a peer's key and QUIC address are found: its signed node document over HTTPS, over plain HTTP (closed set-ups only), or only pinned peers.",
    },
    KeyDoc {
        key: "federation.public_quic",
        kind: "list of socket addresses",
        default: "the bound QUIC address",
        default_toml: None,
        example_toml: "[\"203.0.113.7:7801\"]",
        env: None,
        flag: None,
        summary: "The QUIC addresses other nodes dial, published in the node document (for `0.0.0.0` binds and NAT).",
    },
    KeyDoc {
        key: "federation.allow",
        kind: "list of node names",
        default: "empty (everyone)",
        default_toml: Some("[]"),
        example_toml: "[\"friend.example\"]",
        env: None,
        flag: None,
        summary: "When not empty, only these nodes may federate with this one.",
    },
    KeyDoc {
        key: "federation.deny",
        kind: "list of node names",
        default: "empty (nobody)",
        default_toml: Some("[]"),
        example_toml: "[\"bad.example\"]",
        env: None,
        flag: None,
        summary: "Nodes that may never federate with this one.",
    },
    KeyDoc {
        key: "federation.request_timeout_secs",
        kind: "integer seconds, 1 to 300",
        default: "10",
        default_toml: Some("10"),
        example_toml: "30",
        env: None,
        flag: None,
        summary: "How long a request to a peer waits for its answer.",
    },
    KeyDoc {
        key: "federation.max_streams_per_peer",
        kind: "integer, 1 to 10000",
        default: "64",
        default_toml: Some("64"),
        example_toml: "128",
        env: None,
        flag: None,
        summary: "Requests one peer may have open at once.",
    },
    KeyDoc {
        key: "federation.max_request_memory_mib",
        kind: "integer MiB, 4 to 65536",
        default: "64",
        default_toml: Some("64"),
        example_toml: "128",
        env: None,
        flag: None,
        summary: "Bytes of incoming federation requests held at once, all peers together; past it requests are answered `unavailable`.",
    },
    KeyDoc {
        key: "federation.peers",
        kind: "array of tables `{name, quic, key}` (environment and flag: `NAME=QUIC_ADDR/KEY`, comma-separated / repeatable)",
        default: "none",
        default_toml: Some("[]"),
        example_toml: "[{ name = \"b.example\", quic = \"127.0.0.1:7811\", key = \"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\" }]",
        env: Some((
            "WINICHAT_PEERS",
            "b.example=127.0.0.1:7811/11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        )),
        flag: Some("--peer"),
        summary: "Pinned peers: their key and QUIC address are fixed here and never fetched; pins from all sources add up.",
    },
];

/// `docs/configuration.md`, rendered from [`REFERENCE`].
pub fn render() -> String {
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated from node/src/config/reference.rs; a test fails when this file differs.\n\
         \x20    Regenerate: WINICHAT_BLESS=1 cargo nextest run -p winichat-node -E 'test(configuration_md)' -->\n\n\
         Every key is optional: a node runs with no file at all. Sources, later ones winning: the\n\
         built-in defaults, the TOML file given with `--config`, environment variables, flags (global,\n\
         before the command: `winichat --http 0.0.0.0:7800 serve`). Unknown keys are an error.\n\
         [`node/config.example.toml`](../node/config.example.toml) shows every key with its default\n\
         and an example.\n\n\
         | key | type | default | environment | flag |\n|---|---|---|---|---|\n",
    );
    let code = |s: Option<&str>| s.map_or_else(|| "—".to_owned(), |s| format!("`{s}`"));
    for doc in REFERENCE {
        out.push_str(&format!(
            "| [`{key}`](#{anchor}) | {kind} | {default} | {env} | {flag} |\n",
            key = doc.key,
            anchor = doc.key.replace('.', ""),
            kind = doc.kind,
            default = doc.default,
            env = code(doc.env.map(|(var, _)| var)),
            flag = code(doc.flag),
        ));
    }
    for doc in REFERENCE {
        out.push_str(&format!(
            "\n## {key}\n\n{summary}\n\n- type: {kind}\n- default: {default}\n- example: `{key_leaf} = {example}`{section}\n",
            key = doc.key,
            summary = doc.summary,
            kind = doc.kind,
            default = doc.default,
            key_leaf = doc.key.rsplit('.').next().unwrap_or(doc.key),
            example = doc.example_toml,
            section = if doc.key.contains('.') {
                " (in `[federation]`)"
            } else {
                ""
            },
        ));
        if let Some((var, value)) = doc.env {
            out.push_str(&format!("- environment: `{var}={value}`\n"));
        }
        if let Some(flag) = doc.flag {
            out.push_str(&format!("- flag: `{flag}`\n"));
        }
    }
    out
}
