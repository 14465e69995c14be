//! The node's one typed configuration.
//!
//! Sources, later ones winning: built-in defaults, an optional TOML file (`--config`),
//! `WINICHAT_*` environment variables, command-line flags. [`Config::load`] is a pure function
//! over those three inputs so every rule here is unit-tested without touching the process
//! environment; `main` gathers the inputs once and passes the resulting [`Config`] down.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;
use toml::Spanned;
use winichat_protocol::ids::NodeName;

/// Data directory used when nothing else is configured.
pub const DEFAULT_DATA_DIR: &str = "./winichat-data";
/// HTTP listen address used when nothing else is configured.
pub const DEFAULT_HTTP: &str = "127.0.0.1:7800";
/// QUIC (federation) listen address used when nothing else is configured.
pub const DEFAULT_QUIC: &str = "127.0.0.1:7801";
/// Database URL used when nothing else is configured: storage reads the bare word `sqlite` as
/// the file `winichat.db` in the data directory (so the database follows `data_dir`, and a
/// path with URL-special characters needs no escaping).
pub const DEFAULT_DATABASE_URL: &str = "sqlite";

/// The keys a config file may hold, in the order the example file documents them.
pub const KEYS: [&str; 31] = [
    "name",
    "data_dir",
    "http",
    "quic",
    "database_url",
    "log_format",
    "web_dir",
    "allowed_origins",
    "registration",
    "public_url",
    "access_token_ttl_secs",
    "registrations_per_ip_per_hour",
    "media_max_upload_bytes",
    "media_quota_bytes",
    "media_url_ttl_secs",
    "media_gc_grace_secs",
    "media_max_concurrent_uploads",
    "http_header_timeout_secs",
    "max_connections",
    "max_connections_per_ip",
    "trusted_proxies",
    "resume_window_bytes",
    "resume_total_bytes",
    "send_queue_bytes",
    "request_rate_burst",
    "request_rate_per_sec",
    "tls_cert",
    "tls_key",
    "tls_redirect_http",
    "metrics_listen",
    "federation",
];

/// The node's configuration, fully validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The node's name, as other nodes and users' addresses know it.
    pub name: NodeName,
    /// Where the identity key and (by default) the SQLite database live.
    pub data_dir: PathBuf,
    /// Address of the HTTP listener (port 0 picks a free port).
    pub http: SocketAddr,
    /// Address of the QUIC federation listener (port 0 picks a free port).
    pub quic: SocketAddr,
    /// Database URL: `sqlite` (the file in the data dir, the default), `sqlite://PATH` or
    /// `postgres://…`.
    pub database_url: String,
    /// Log output format.
    pub log_format: LogFormat,
    /// True when no name was configured and it was derived from the HTTP address.
    pub name_defaulted: bool,
    /// The built web app served at `/`; `None` means the workspace's `client-web/dist`
    /// (see [`crate::api::http::web::default_web_dir`]).
    pub web_dir: Option<PathBuf>,
    /// The WebSocket gateway's settings; `allowed_origins` (file: a list of origins;
    /// `WINICHAT_ALLOWED_ORIGINS`: comma-separated), `resume_window_bytes`,
    /// `resume_total_bytes`, `send_queue_bytes`, `request_rate_burst` and `request_rate_per_sec`
    /// are configurable, the rest are the protocol's defaults (tests may change them).
    pub gateway: crate::api::ws::GatewaySettings,
    /// Accounts and tokens: `registration`, `access_token_ttl_secs`,
    /// `registrations_per_ip_per_hour`, and whether the refresh
    /// cookie is `Secure` (`public_url` starts with `https://`).
    pub auth: crate::auth::AuthSettings,
    /// Media: `media_max_upload_bytes`, `media_quota_bytes`, `media_url_ttl_secs`,
    /// `media_gc_grace_secs`, `media_max_concurrent_uploads` (the image limits are built in;
    /// tests may change them).
    pub media: crate::media::MediaSettings,
    /// The HTTP listener's limits: `http_header_timeout_secs`, `max_connections`,
    /// `max_connections_per_ip`, `trusted_proxies` (file: a list of addresses and blocks;
    /// `WINICHAT_TRUSTED_PROXIES`: comma-separated).
    pub connections: crate::connections::ConnectionSettings,
    /// Federation: `[federation]` (discovery, pinned peers, allow and deny lists).
    pub federation: crate::federation::FederationSettings,
    /// HTTPS, the redirect to it and the metrics listener: `tls_cert`, `tls_key`,
    /// `tls_redirect_http`, `metrics_listen`.
    pub listeners: listeners::ListenerSettings,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl FromStr for LogFormat {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("expected \"text\" or \"json\""),
        }
    }
}

/// Values given on the command line; each one overrides the file and the environment.
///
/// Kept as raw strings (paths as `PathBuf`) so that a bad flag produces the same one-line
/// error, naming the flag, as a bad file key or environment variable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--name`
    pub name: Option<String>,
    /// `--data-dir`
    pub data_dir: Option<PathBuf>,
    /// `--http`
    pub http: Option<String>,
    /// `--quic`
    pub quic: Option<String>,
    /// `--database-url`
    pub database_url: Option<String>,
    /// `--log-format`
    pub log_format: Option<String>,
    /// `--web-dir`
    pub web_dir: Option<PathBuf>,
    /// `--peer NAME=QUIC_ADDR/KEY`, repeatable.
    pub peers: Vec<String>,
    /// `--tls-cert`
    pub tls_cert: Option<String>,
    /// `--tls-key`
    pub tls_key: Option<String>,
    /// `--tls-redirect-http`
    pub tls_redirect_http: Option<String>,
    /// `--metrics-listen`
    pub metrics_listen: Option<String>,
}

/// The config file, as read by `--config`.
#[derive(Debug, Clone, Copy)]
pub struct ConfigFile<'a> {
    /// Path, for error messages.
    pub path: &'a Path,
    /// The file's text.
    pub text: &'a str,
}

/// Where a configuration value came from, so an error can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A key in the config file, at a 1-based line.
    File {
        /// The config file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// The 1-based line of the value.
        line: usize,
    },
    /// An environment variable.
    Env(&'static str),
    /// A command-line flag (with its dashes).
    Flag(&'static str),
    /// A default derived from another setting.
    Derived(&'static str),
}

/// Why the configuration could not be loaded. Every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named by `--config` could not be read.
    #[error("cannot read config {}: {source}", path.display())]
    Read {
        /// The config file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has a key this version does not know.
    #[error("invalid config {}: {message}", path.display())]
    Syntax {
        /// The config file.
        path: PathBuf,
        /// What is wrong, and where.
        message: String,
    },
    /// A value (from any source) does not parse.
    #[error("invalid config{}{value:?}: {reason}", describe_origin(origin))]
    Value {
        /// Where the value came from.
        origin: Origin,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Renders the part of a value error that says where the value came from, e.g.
/// ` /etc/winichat.toml: http (line 3) =` or `: WINICHAT_HTTP =`.
fn describe_origin(origin: &Origin) -> String {
    match origin {
        Origin::File { path, key, line } => format!(" {}: {key} (line {line}) = ", path.display()),
        Origin::Env(var) => format!(": {var} = "),
        Origin::Flag(flag) => format!(": {flag} "),
        Origin::Derived(what) => format!(": {what}: "),
    }
}

/// The file's shape. Every value is a spanned string so a bad value can be reported with its
/// line, and unknown keys are rejected (a typo must not silently fall back to a default).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    name: Option<Spanned<String>>,
    data_dir: Option<Spanned<String>>,
    http: Option<Spanned<String>>,
    quic: Option<Spanned<String>>,
    database_url: Option<Spanned<String>>,
    log_format: Option<Spanned<String>>,
    web_dir: Option<Spanned<String>>,
    allowed_origins: Option<Vec<String>>,
    registration: Option<Spanned<String>>,
    public_url: Option<Spanned<String>>,
    access_token_ttl_secs: Option<Spanned<u64>>,
    registrations_per_ip_per_hour: Option<Spanned<u64>>,
    media_max_upload_bytes: Option<Spanned<u64>>,
    media_quota_bytes: Option<Spanned<u64>>,
    media_url_ttl_secs: Option<Spanned<u64>>,
    media_gc_grace_secs: Option<Spanned<u64>>,
    media_max_concurrent_uploads: Option<Spanned<u64>>,
    http_header_timeout_secs: Option<Spanned<u64>>,
    max_connections: Option<Spanned<u64>>,
    max_connections_per_ip: Option<Spanned<u64>>,
    trusted_proxies: Option<Vec<Spanned<String>>>,
    resume_window_bytes: Option<Spanned<u64>>,
    resume_total_bytes: Option<Spanned<u64>>,
    send_queue_bytes: Option<Spanned<u64>>,
    request_rate_burst: Option<Spanned<u64>>,
    request_rate_per_sec: Option<Spanned<u64>>,
    tls_cert: Option<Spanned<String>>,
    tls_key: Option<Spanned<String>>,
    tls_redirect_http: Option<Spanned<String>>,
    metrics_listen: Option<Spanned<String>>,
    federation: Option<FederationFile>,
}

/// `[federation]` in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FederationFile {
    discovery: Option<Spanned<String>>,
    public_quic: Option<Vec<Spanned<String>>>,
    allow: Option<Vec<Spanned<String>>>,
    deny: Option<Vec<Spanned<String>>>,
    peers: Option<Vec<PeerFile>>,
    request_timeout_secs: Option<Spanned<u64>>,
    max_streams_per_peer: Option<Spanned<u64>>,
    max_request_memory_mib: Option<Spanned<u64>>,
}

/// `[[federation.peers]]` in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeerFile {
    name: Spanned<String>,
    quic: Spanned<String>,
    key: Spanned<String>,
}

/// One setting as gathered from the sources, before parsing: the winning raw value and its origin.
struct Raw {
    value: String,
    origin: Origin,
}

impl Config {
    /// Builds the configuration from a config file (if any), the environment and the flags.
    ///
    /// `env` holds the process environment (only `WINICHAT_*` keys are read). Pure: no IO.
    pub fn load(
        file: Option<ConfigFile<'_>>,
        env: &HashMap<String, String>,
        flags: &Overrides,
    ) -> Result<Config, ConfigError> {
        let parsed = match file {
            Some(file) => Some((file, parse_file(file)?)),
            None => None,
        };

        // Gather each key's winning raw value: flag > env > file.
        let pick = |key: &'static str,
                    var: &'static str,
                    flag_name: &'static str,
                    flag: Option<String>| {
            if let Some(value) = flag {
                return Some(Raw {
                    value,
                    origin: Origin::Flag(flag_name),
                });
            }
            if let Some(value) = env.get(var) {
                return Some(Raw {
                    value: value.clone(),
                    origin: Origin::Env(var),
                });
            }
            let (file, cfg) = parsed.as_ref()?;
            let spanned = match key {
                "name" => cfg.name.as_ref(),
                "data_dir" => cfg.data_dir.as_ref(),
                "http" => cfg.http.as_ref(),
                "quic" => cfg.quic.as_ref(),
                "database_url" => cfg.database_url.as_ref(),
                "log_format" => cfg.log_format.as_ref(),
                "web_dir" => cfg.web_dir.as_ref(),
                "registration" => cfg.registration.as_ref(),
                "public_url" => cfg.public_url.as_ref(),
                "tls_cert" => cfg.tls_cert.as_ref(),
                "tls_key" => cfg.tls_key.as_ref(),
                "tls_redirect_http" => cfg.tls_redirect_http.as_ref(),
                "metrics_listen" => cfg.metrics_listen.as_ref(),
                _ => None,
            }?;
            Some(Raw {
                value: spanned.get_ref().clone(),
                origin: Origin::File {
                    path: file.path.to_path_buf(),
                    key,
                    line: line_of(file.text, spanned.span().start),
                },
            })
        };

        let http = pick("http", "WINICHAT_HTTP", "--http", flags.http.clone());
        let http = parse_addr(http, DEFAULT_HTTP)?;
        let quic = pick("quic", "WINICHAT_QUIC", "--quic", flags.quic.clone());
        let quic = parse_addr(quic, DEFAULT_QUIC)?;

        let data_dir = match flags.data_dir.clone() {
            Some(dir) => dir,
            None => match pick("data_dir", "WINICHAT_DATA_DIR", "--data-dir", None) {
                Some(raw) if raw.value.is_empty() => {
                    return Err(value_error(raw, "must not be empty"));
                }
                Some(raw) => PathBuf::from(raw.value),
                None => PathBuf::from(DEFAULT_DATA_DIR),
            },
        };
        if data_dir.as_os_str().is_empty() {
            return Err(ConfigError::Value {
                origin: Origin::Flag("--data-dir"),
                value: String::new(),
                reason: "must not be empty".into(),
            });
        }

        let (name, name_defaulted) =
            match pick("name", "WINICHAT_NAME", "--name", flags.name.clone()) {
                Some(raw) => match raw.value.parse::<NodeName>() {
                    Ok(name) => (name, false),
                    Err(e) => return Err(value_error(raw, e)),
                },
                // The HTTP address is where this node is reached, so it is the natural name of
                // a node nobody has named yet (a local or test node).
                None => {
                    let text = http.to_string();
                    match text.parse::<NodeName>() {
                        Ok(name) => (name, true),
                        Err(e) => {
                            return Err(ConfigError::Value {
                                origin: Origin::Derived("name (defaulted from http; set name)"),
                                value: text,
                                reason: e.to_string(),
                            });
                        }
                    }
                }
            };

        let database_url = match pick(
            "database_url",
            "WINICHAT_DATABASE_URL",
            "--database-url",
            flags.database_url.clone(),
        ) {
            Some(raw) if raw.value.trim().is_empty() => {
                return Err(value_error(raw, "must not be empty"));
            }
            Some(raw) => raw.value,
            None => DEFAULT_DATABASE_URL.to_owned(),
        };

        let log_format = match pick(
            "log_format",
            "WINICHAT_LOG_FORMAT",
            "--log-format",
            flags.log_format.clone(),
        ) {
            Some(raw) => match raw.value.parse::<LogFormat>() {
                Ok(format) => format,
                Err(e) => return Err(value_error(raw, e)),
            },
            None => LogFormat::Text,
        };

        let web_dir = match flags.web_dir.clone() {
            Some(dir) if dir.as_os_str().is_empty() => {
                return Err(ConfigError::Value {
                    origin: Origin::Flag("--web-dir"),
                    value: String::new(),
                    reason: "must not be empty".into(),
                });
            }
            Some(dir) => Some(dir),
            None => match pick("web_dir", "WINICHAT_WEB_DIR", "--web-dir", None) {
                Some(raw) if raw.value.is_empty() => {
                    return Err(value_error(raw, "must not be empty"));
                }
                Some(raw) => Some(PathBuf::from(raw.value)),
                None => None,
            },
        };

        let allowed_origins = match env.get("WINICHAT_ALLOWED_ORIGINS") {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect(),
            None => parsed
                .as_ref()
                .and_then(|(_, cfg)| cfg.allowed_origins.clone())
                .unwrap_or_default(),
        };
        let mut auth = load_auth(&pick, parsed.as_ref().map(|(f, c)| (*f, c)), env)?;
        let listeners = listeners::load(&pick, flags)?;
        // Served over TLS, the node's URL is https unless `public_url` says otherwise.
        if listeners.tls.is_some()
            && pick("public_url", "WINICHAT_PUBLIC_URL", "--public-url", None).is_none()
        {
            auth.secure_cookie = true;
        }
        let media = load_media(parsed.as_ref().map(|(f, c)| (*f, c)), env)?;
        let mut gateway = crate::api::ws::GatewaySettings {
            allowed_origins,
            ..Default::default()
        };
        let file = parsed.as_ref().map(|(f, c)| (*f, c));
        if let Some(n) = number(file, env, RESUME_WINDOW_BYTES, |c| {
            c.resume_window_bytes.as_ref()
        })? {
            gateway.resume_window_bytes = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = number(file, env, RESUME_TOTAL_BYTES, |c| {
            c.resume_total_bytes.as_ref()
        })? {
            gateway.resume_total_bytes = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = number(file, env, SEND_QUEUE_BYTES, |c| c.send_queue_bytes.as_ref())? {
            gateway.send_queue_bytes = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = number(file, env, REQUEST_RATE_BURST, |c| {
            c.request_rate_burst.as_ref()
        })? {
            gateway.rate_burst = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(n) = number(file, env, REQUEST_RATE_PER_SEC, |c| {
            c.request_rate_per_sec.as_ref()
        })? {
            gateway.rate_per_sec = u32::try_from(n).unwrap_or(u32::MAX);
        }
        let mut connections = crate::connections::ConnectionSettings::default();
        if let Some(n) = number(file, env, HEADER_TIMEOUT_SECS, |c| {
            c.http_header_timeout_secs.as_ref()
        })? {
            connections.header_timeout = std::time::Duration::from_secs(n);
        }
        if let Some(n) = number(file, env, MAX_CONNECTIONS, |c| c.max_connections.as_ref())? {
            connections.max_connections = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = number(file, env, MAX_CONNECTIONS_PER_IP, |c| {
            c.max_connections_per_ip.as_ref()
        })? {
            connections.max_connections_per_ip = usize::try_from(n).unwrap_or(usize::MAX);
        }
        connections.trusted_proxies = load_trusted_proxies(file, env)?;
        let federation = load_federation(file, env, &flags.peers)?;

        Ok(Config {
            name,
            data_dir,
            http,
            quic,
            database_url,
            log_format,
            name_defaulted,
            web_dir,
            gateway,
            auth,
            media,
            connections,
            federation,
            listeners,
        })
    }

    /// The configuration with every default and nothing else (what a bare `winichat serve` uses).
    pub fn defaults() -> Result<Config, ConfigError> {
        Config::load(None, &HashMap::new(), &Overrides::default())
    }

    /// True when the node's name is an unspecified address such as `0.0.0.0:7800`, which no
    /// other node can reach; `serve` warns about it.
    pub fn name_is_unspecified_address(&self) -> bool {
        let host = self
            .name
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        host.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified())
    }
}

/// Parses the file, turning TOML errors into one line that names the key and its line.
fn parse_file(file: ConfigFile<'_>) -> Result<FileConfig, ConfigError> {
    toml::from_str::<FileConfig>(file.text).map_err(|e| ConfigError::Syntax {
        path: file.path.to_path_buf(),
        message: describe_toml_error(file.text, &e),
    })
}

/// One line for a TOML error. toml's own `Display` draws a multi-line caret diagram, which does
/// not fit a one-line error, so we rebuild the message from its parts.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim();
    let line = error.span().map(|span| line_of(text, span.start));
    // serde words unknown keys as "unknown field `htp`, expected one of …".
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((key, _)) = rest.split_once('`')
    {
        let at = line.map(|l| format!(" at line {l}")).unwrap_or_default();
        return format!("unknown key {key:?}{at} (known keys: {})", KEYS.join(", "));
    }
    let message = message.replace('\n', "; ");
    match line {
        Some(line) => {
            let source = text.lines().nth(line - 1).unwrap_or("").trim();
            format!("line {line} ({source}): {message}")
        }
        None => message,
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn parse_addr(raw: Option<Raw>, default: &str) -> Result<SocketAddr, ConfigError> {
    let Some(raw) = raw else {
        return default.parse().map_err(|_| ConfigError::Value {
            origin: Origin::Derived("built-in default"),
            value: default.into(),
            reason: "invalid socket address".into(),
        });
    };
    match raw.value.parse::<SocketAddr>() {
        Ok(addr) => Ok(addr),
        Err(_) => Err(value_error(
            raw,
            "invalid socket address (expected IP:PORT, e.g. 127.0.0.1:7800)",
        )),
    }
}

/// The auth settings: `registration`, `public_url`, `access_token_ttl_secs`,
/// `registrations_per_ip_per_hour`.
fn load_auth(
    pick: &dyn Fn(&'static str, &'static str, &'static str, Option<String>) -> Option<Raw>,
    file: Option<(ConfigFile<'_>, &FileConfig)>,
    env: &HashMap<String, String>,
) -> Result<crate::auth::AuthSettings, ConfigError> {
    let mut auth = crate::auth::AuthSettings::default();
    if let Some(raw) = pick(
        "registration",
        "WINICHAT_REGISTRATION",
        "--registration",
        None,
    ) {
        match raw.value.parse() {
            Ok(mode) => auth.registration = mode,
            Err(e) => return Err(value_error(raw, e)),
        }
    }
    if let Some(raw) = pick("public_url", "WINICHAT_PUBLIC_URL", "--public-url", None) {
        if !(raw.value.starts_with("http://") || raw.value.starts_with("https://")) {
            return Err(value_error(raw, "must start with http:// or https://"));
        }
        auth.secure_cookie = raw.value.starts_with("https://");
    }
    let ttl = match env.get("WINICHAT_ACCESS_TOKEN_TTL_SECS") {
        Some(v) => Some(Raw {
            value: v.clone(),
            origin: Origin::Env("WINICHAT_ACCESS_TOKEN_TTL_SECS"),
        }),
        None => file.and_then(|(f, cfg)| {
            cfg.access_token_ttl_secs.as_ref().map(|s| Raw {
                value: s.get_ref().to_string(),
                origin: Origin::File {
                    path: f.path.to_path_buf(),
                    key: "access_token_ttl_secs",
                    line: line_of(f.text, s.span().start),
                },
            })
        }),
    };
    if let Some(raw) = ttl {
        match raw.value.parse::<u64>() {
            Ok(secs) if (1..=crate::auth::MAX_ACCESS_TTL_SECS).contains(&secs) => {
                auth.access_token_ttl_secs = secs;
            }
            _ => {
                return Err(value_error(
                    raw,
                    format!(
                        "must be a number of seconds from 1 to {}",
                        crate::auth::MAX_ACCESS_TTL_SECS
                    ),
                ));
            }
        }
    }
    let per_ip = match env.get("WINICHAT_REGISTRATIONS_PER_IP_PER_HOUR") {
        Some(v) => Some(Raw {
            value: v.clone(),
            origin: Origin::Env("WINICHAT_REGISTRATIONS_PER_IP_PER_HOUR"),
        }),
        None => file.and_then(|(f, cfg)| {
            cfg.registrations_per_ip_per_hour.as_ref().map(|s| Raw {
                value: s.get_ref().to_string(),
                origin: Origin::File {
                    path: f.path.to_path_buf(),
                    key: "registrations_per_ip_per_hour",
                    line: line_of(f.text, s.span().start),
                },
            })
        }),
    };
    if let Some(raw) = per_ip {
        match raw.value.parse::<u32>() {
            Ok(n) if (1..=MAX_REGISTRATIONS_PER_IP_PER_HOUR).contains(&n) => {
                auth.registrations_per_ip_per_hour = n;
            }
            _ => {
                return Err(value_error(
                    raw,
                    format!("must be a number from 1 to {MAX_REGISTRATIONS_PER_IP_PER_HOUR}"),
                ));
            }
        }
    }
    Ok(auth)
}

/// Largest accepted `registrations_per_ip_per_hour`.
pub const MAX_REGISTRATIONS_PER_IP_PER_HOUR: u32 = 1_000_000;

/// Largest accepted `media_max_upload_bytes`: 1 TiB.
pub const MAX_MEDIA_UPLOAD_BYTES: u64 = 1 << 40;
/// Largest accepted `media_quota_bytes`: 1 PiB.
pub const MAX_MEDIA_QUOTA_BYTES: u64 = 1 << 50;
/// Accepted `media_url_ttl_secs`: a minute to a week.
pub const MEDIA_URL_TTL_SECS: std::ops::RangeInclusive<u64> = 60..=7 * 86_400;
/// Largest accepted `media_gc_grace_secs`: a year.
pub const MAX_MEDIA_GC_GRACE_SECS: u64 = 365 * 86_400;
/// Largest accepted `media_max_concurrent_uploads`.
pub const MAX_MEDIA_CONCURRENT_UPLOADS: u64 = 1000;

/// The media settings: `media_max_upload_bytes`, `media_quota_bytes`, `media_url_ttl_secs`,
/// `media_gc_grace_secs`, `media_max_concurrent_uploads` (file or `WINICHAT_<KEY>`; the environment wins).
fn load_media(
    file: Option<(ConfigFile<'_>, &FileConfig)>,
    env: &HashMap<String, String>,
) -> Result<crate::media::MediaSettings, ConfigError> {
    type Get = fn(&FileConfig) -> Option<&Spanned<u64>>;
    let number = |key: &'static str,
                  var: &'static str,
                  get: Get,
                  range: std::ops::RangeInclusive<u64>,
                  what: &str|
     -> Result<Option<u64>, ConfigError> {
        let raw = match env.get(var) {
            Some(v) => Some(Raw {
                value: v.clone(),
                origin: Origin::Env(var),
            }),
            None => file.and_then(|(f, cfg)| {
                get(cfg).map(|s| Raw {
                    value: s.get_ref().to_string(),
                    origin: Origin::File {
                        path: f.path.to_path_buf(),
                        key,
                        line: line_of(f.text, s.span().start),
                    },
                })
            }),
        };
        let Some(raw) = raw else { return Ok(None) };
        match raw.value.parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(value_error(
                raw,
                format!(
                    "must be a number of {what} from {} to {}",
                    range.start(),
                    range.end()
                ),
            )),
        }
    };
    let mut media = crate::media::MediaSettings::default();
    if let Some(n) = number(
        "media_max_upload_bytes",
        "WINICHAT_MEDIA_MAX_UPLOAD_BYTES",
        |c| c.media_max_upload_bytes.as_ref(),
        1..=MAX_MEDIA_UPLOAD_BYTES,
        "bytes",
    )? {
        media.max_upload_bytes = n;
    }
    if let Some(n) = number(
        "media_quota_bytes",
        "WINICHAT_MEDIA_QUOTA_BYTES",
        |c| c.media_quota_bytes.as_ref(),
        1..=MAX_MEDIA_QUOTA_BYTES,
        "bytes",
    )? {
        media.quota_bytes = n;
    }
    if let Some(n) = number(
        "media_url_ttl_secs",
        "WINICHAT_MEDIA_URL_TTL_SECS",
        |c| c.media_url_ttl_secs.as_ref(),
        MEDIA_URL_TTL_SECS,
        "seconds",
    )? {
        media.url_ttl_secs = n;
    }
    if let Some(n) = number(
        "media_gc_grace_secs",
        "WINICHAT_MEDIA_GC_GRACE_SECS",
        |c| c.media_gc_grace_secs.as_ref(),
        0..=MAX_MEDIA_GC_GRACE_SECS,
        "seconds",
    )? {
        media.gc_grace_secs = n;
    }
    if let Some(n) = number(
        "media_max_concurrent_uploads",
        "WINICHAT_MEDIA_MAX_CONCURRENT_UPLOADS",
        |c| c.media_max_concurrent_uploads.as_ref(),
        1..=MAX_MEDIA_CONCURRENT_UPLOADS,
        "uploads",
    )? {
        // In range, so it fits.
        media.max_concurrent_uploads = usize::try_from(n).unwrap_or(usize::MAX);
    }
    Ok(media)
}

/// A numeric setting read from the file or `WINICHAT_<KEY>` (the environment wins).
struct NumberKey {
    key: &'static str,
    var: &'static str,
    range: std::ops::RangeInclusive<u64>,
    what: &'static str,
}

const HEADER_TIMEOUT_SECS: NumberKey = NumberKey {
    key: "http_header_timeout_secs",
    var: "WINICHAT_HTTP_HEADER_TIMEOUT_SECS",
    range: 1..=300,
    what: "seconds",
};
const MAX_CONNECTIONS: NumberKey = NumberKey {
    key: "max_connections",
    var: "WINICHAT_MAX_CONNECTIONS",
    range: 1..=10_000_000,
    what: "connections",
};
const MAX_CONNECTIONS_PER_IP: NumberKey = NumberKey {
    key: "max_connections_per_ip",
    var: "WINICHAT_MAX_CONNECTIONS_PER_IP",
    range: 1..=10_000_000,
    what: "connections",
};
const RESUME_WINDOW_BYTES: NumberKey = NumberKey {
    key: "resume_window_bytes",
    var: "WINICHAT_RESUME_WINDOW_BYTES",
    range: 0..=(1 << 30),
    what: "bytes",
};
/// At least one maximal frame, so a client that reads is never closed for one push.
const SEND_QUEUE_BYTES: NumberKey = NumberKey {
    key: "send_queue_bytes",
    var: "WINICHAT_SEND_QUEUE_BYTES",
    range: (64 * 1024)..=(1 << 30),
    what: "bytes",
};
/// The per-connection request limit (a token bucket): for abuse, not for load, which is
/// answered `rate_limited` or `unavailable` where it arises.
const REQUEST_RATE_BURST: NumberKey = NumberKey {
    key: "request_rate_burst",
    var: "WINICHAT_REQUEST_RATE_BURST",
    range: 1..=1_000_000,
    what: "requests",
};
const REQUEST_RATE_PER_SEC: NumberKey = NumberKey {
    key: "request_rate_per_sec",
    var: "WINICHAT_REQUEST_RATE_PER_SEC",
    range: 1..=1_000_000,
    what: "requests per second",
};
const RESUME_TOTAL_BYTES: NumberKey = NumberKey {
    key: "resume_total_bytes",
    var: "WINICHAT_RESUME_TOTAL_BYTES",
    range: 0..=(1 << 40),
    what: "bytes",
};

fn number(
    file: Option<(ConfigFile<'_>, &FileConfig)>,
    env: &HashMap<String, String>,
    key: NumberKey,
    get: fn(&FileConfig) -> Option<&Spanned<u64>>,
) -> Result<Option<u64>, ConfigError> {
    let raw = match env.get(key.var) {
        Some(v) => Some(Raw {
            value: v.clone(),
            origin: Origin::Env(key.var),
        }),
        None => file.and_then(|(f, cfg)| {
            get(cfg).map(|s| Raw {
                value: s.get_ref().to_string(),
                origin: Origin::File {
                    path: f.path.to_path_buf(),
                    key: key.key,
                    line: line_of(f.text, s.span().start),
                },
            })
        }),
    };
    let Some(raw) = raw else { return Ok(None) };
    match raw.value.parse::<u64>() {
        Ok(n) if key.range.contains(&n) => Ok(Some(n)),
        _ => Err(value_error(
            raw,
            format!(
                "must be a number of {} from {} to {}",
                key.what,
                key.range.start(),
                key.range.end()
            ),
        )),
    }
}

/// `trusted_proxies`: addresses or blocks (`10.0.0.0/8`), from the file (a list) or
/// `WINICHAT_TRUSTED_PROXIES` (comma-separated; the environment wins).
fn load_trusted_proxies(
    file: Option<(ConfigFile<'_>, &FileConfig)>,
    env: &HashMap<String, String>,
) -> Result<crate::client_addr::TrustedProxies, ConfigError> {
    const VAR: &str = "WINICHAT_TRUSTED_PROXIES";
    let raws: Vec<Raw> = match env.get(VAR) {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| Raw {
                value: p.to_owned(),
                origin: Origin::Env(VAR),
            })
            .collect(),
        None => file
            .and_then(|(f, cfg)| {
                cfg.trusted_proxies.as_ref().map(|list| {
                    list.iter()
                        .map(|s| Raw {
                            value: s.get_ref().clone(),
                            origin: Origin::File {
                                path: f.path.to_path_buf(),
                                key: "trusted_proxies",
                                line: line_of(f.text, s.span().start),
                            },
                        })
                        .collect()
                })
            })
            .unwrap_or_default(),
    };
    let mut blocks = Vec::with_capacity(raws.len());
    for raw in raws {
        match raw.value.parse::<crate::client_addr::Cidr>() {
            Ok(block) => blocks.push(block),
            Err(e) => return Err(value_error(raw, e)),
        }
    }
    Ok(crate::client_addr::TrustedProxies::new(blocks))
}

/// Accepted `[federation] request_timeout_secs`.
pub const FEDERATION_REQUEST_TIMEOUT_SECS: std::ops::RangeInclusive<u64> = 1..=300;
/// Accepted `[federation] max_streams_per_peer`.
pub const FEDERATION_MAX_STREAMS_PER_PEER: std::ops::RangeInclusive<u64> = 1..=10_000;
/// Accepted `[federation] max_request_memory_mib`: at least one 4 MiB frame.
pub const FEDERATION_MAX_REQUEST_MEMORY_MIB: std::ops::RangeInclusive<u64> = 4..=65_536;

/// Parses a pinned peer written `NAME=QUIC_ADDR/KEY` (`--peer`, `WINICHAT_PEERS`), where KEY
/// is the identity key as unpadded base64url.
pub fn parse_peer(text: &str) -> Result<crate::federation::PinnedPeer, String> {
    let (name, rest) = text.split_once('=').ok_or("expected NAME=QUIC_ADDR/KEY")?;
    let (quic, key) = rest.rsplit_once('/').ok_or("expected NAME=QUIC_ADDR/KEY")?;
    peer_from_parts(name.trim(), quic.trim(), key.trim())
}

fn peer_from_parts(
    name: &str,
    quic: &str,
    key: &str,
) -> Result<crate::federation::PinnedPeer, String> {
    use base64::Engine as _;
    let name = name
        .parse::<NodeName>()
        .map_err(|e| format!("peer name {name:?}: {e}"))?;
    let quic = quic
        .parse::<SocketAddr>()
        .map_err(|_| format!("peer address {quic:?}: expected IP:PORT"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key)
        .map_err(|_| format!("peer key {key:?}: not unpadded base64url"))?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "peer key: must be 32 bytes (43 base64url characters)".to_owned())?;
    winichat_protocol::keys::PublicKey::from_bytes(&key).map_err(|e| format!("peer key: {e}"))?;
    Ok(crate::federation::PinnedPeer { name, quic, key })
}

/// `[federation]`, plus pinned peers from `WINICHAT_PEERS` (comma-separated) and `--peer`.
/// Pins from every source add up; a later source re-pinning a name replaces its entry.
fn load_federation(
    file: Option<(ConfigFile<'_>, &FileConfig)>,
    env: &HashMap<String, String>,
    flag_peers: &[String],
) -> Result<crate::federation::FederationSettings, ConfigError> {
    use crate::federation::{Discovery, FederationSettings, PinnedPeer};
    const PEERS_VAR: &str = "WINICHAT_PEERS";
    let mut settings = FederationSettings::default();
    let section = file.and_then(|(f, cfg)| cfg.federation.as_ref().map(|s| (f, s)));
    let from_file = |f: ConfigFile<'_>, key: &'static str, value: String, start: usize| Raw {
        value,
        origin: Origin::File {
            path: f.path.to_path_buf(),
            key,
            line: line_of(f.text, start),
        },
    };
    let mut pins: Vec<PinnedPeer> = Vec::new();
    let mut add_pin = |peer: PinnedPeer| {
        pins.retain(|p| p.name != peer.name);
        pins.push(peer);
    };
    if let Some((f, section)) = section {
        if let Some(raw) = &section.discovery {
            settings.discovery = match raw.get_ref().as_str() {
                "https" => Discovery::Https,
                "http" => Discovery::Http,
                "pinned" => Discovery::Pinned,
                _ => {
                    let raw = from_file(
                        f,
                        "federation.discovery",
                        raw.get_ref().clone(),
                        raw.span().start,
                    );
                    return Err(value_error(
                        raw,
                        "expected \"https\", \"http\" or \"pinned\"",
                    ));
                }
            };
        }
        for item in section.public_quic.iter().flatten() {
            match item.get_ref().parse::<SocketAddr>() {
                Ok(addr) => settings.public_quic.push(addr),
                Err(_) => {
                    let raw = from_file(
                        f,
                        "federation.public_quic",
                        item.get_ref().clone(),
                        item.span().start,
                    );
                    return Err(value_error(
                        raw,
                        "invalid socket address (expected IP:PORT)",
                    ));
                }
            }
        }
        for (key, list, out) in [
            ("federation.allow", &section.allow, &mut settings.allow),
            ("federation.deny", &section.deny, &mut settings.deny),
        ] {
            for item in list.iter().flatten() {
                match item.get_ref().parse::<NodeName>() {
                    Ok(name) => out.push(name),
                    Err(e) => {
                        let raw = from_file(f, key, item.get_ref().clone(), item.span().start);
                        return Err(value_error(raw, e));
                    }
                }
            }
        }
        for peer in section.peers.iter().flatten() {
            match peer_from_parts(peer.name.get_ref(), peer.quic.get_ref(), peer.key.get_ref()) {
                Ok(pinned) => add_pin(pinned),
                Err(e) => {
                    let raw = from_file(
                        f,
                        "federation.peers",
                        peer.name.get_ref().clone(),
                        peer.name.span().start,
                    );
                    return Err(value_error(raw, e));
                }
            }
        }
        if let Some(secs) = &section.request_timeout_secs {
            if !FEDERATION_REQUEST_TIMEOUT_SECS.contains(secs.get_ref()) {
                let raw = from_file(
                    f,
                    "federation.request_timeout_secs",
                    secs.get_ref().to_string(),
                    secs.span().start,
                );
                return Err(value_error(
                    raw,
                    "must be a number of seconds from 1 to 300",
                ));
            }
            settings.request_timeout = std::time::Duration::from_secs(*secs.get_ref());
        }
        if let Some(n) = &section.max_streams_per_peer {
            match u32::try_from(*n.get_ref()) {
                Ok(streams) if FEDERATION_MAX_STREAMS_PER_PEER.contains(n.get_ref()) => {
                    settings.max_streams_per_peer = streams;
                }
                _ => {
                    let raw = from_file(
                        f,
                        "federation.max_streams_per_peer",
                        n.get_ref().to_string(),
                        n.span().start,
                    );
                    return Err(value_error(
                        raw,
                        "must be a number of streams from 1 to 10000",
                    ));
                }
            }
        }
        if let Some(mib) = &section.max_request_memory_mib {
            match usize::try_from(mib.get_ref().saturating_mul(1024 * 1024)) {
                Ok(bytes) if FEDERATION_MAX_REQUEST_MEMORY_MIB.contains(mib.get_ref()) => {
                    settings.max_request_memory = bytes;
                }
                _ => {
                    let raw = from_file(
                        f,
                        "federation.max_request_memory_mib",
                        mib.get_ref().to_string(),
                        mib.span().start,
                    );
                    return Err(value_error(raw, "must be a number of MiB from 4 to 65536"));
                }
            }
        }
    }
    if let Some(list) = env.get(PEERS_VAR) {
        for item in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match parse_peer(item) {
                Ok(peer) => add_pin(peer),
                Err(e) => {
                    return Err(ConfigError::Value {
                        origin: Origin::Env(PEERS_VAR),
                        value: item.to_owned(),
                        reason: e,
                    });
                }
            }
        }
    }
    for item in flag_peers {
        match parse_peer(item) {
            Ok(peer) => add_pin(peer),
            Err(e) => {
                return Err(ConfigError::Value {
                    origin: Origin::Flag("--peer"),
                    value: item.clone(),
                    reason: e,
                });
            }
        }
    }
    settings.peers = pins;
    Ok(settings)
}

fn value_error(raw: Raw, reason: impl fmt::Display) -> ConfigError {
    ConfigError::Value {
        origin: raw.origin,
        value: raw.value,
        reason: reason.to_string(),
    }
}

mod listeners;
pub use listeners::ListenerSettings;
pub mod reference;

#[cfg(test)]
mod tests;
