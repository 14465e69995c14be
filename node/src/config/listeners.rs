//! The optional listeners' settings: HTTPS on the main listener (`tls_cert`, `tls_key`), the
//! HTTP→HTTPS redirect (`tls_redirect_http`) and the metrics listener (`metrics_listen`).

use std::net::SocketAddr;
use std::path::PathBuf;

use super::{ConfigError, Origin, Overrides, Raw, value_error};
use crate::connections::tls::TlsFiles;

/// The optional listeners. All off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerSettings {
    /// Serve HTTPS on the HTTP listener with these files (`tls_cert`, `tls_key`; the key
    /// defaults to the certificate file, for a PEM that holds both).
    pub tls: Option<TlsFiles>,
    /// Answer plain HTTP here with a redirect to HTTPS (`tls_redirect_http`; needs TLS).
    pub redirect_http: Option<SocketAddr>,
    /// Serve `/metrics` and `/readyz` here (`metrics_listen`).
    pub metrics: Option<SocketAddr>,
}

type Pick<'a> = &'a dyn Fn(&'static str, &'static str, &'static str, Option<String>) -> Option<Raw>;

/// Reads the four keys (flag > environment > file).
pub(super) fn load(pick: Pick<'_>, flags: &Overrides) -> Result<ListenerSettings, ConfigError> {
    let path = |raw: Option<Raw>| -> Result<Option<PathBuf>, ConfigError> {
        match raw {
            Some(raw) if raw.value.trim().is_empty() => Err(value_error(raw, "must not be empty")),
            Some(raw) => Ok(Some(PathBuf::from(raw.value))),
            None => Ok(None),
        }
    };
    let addr = |raw: Option<Raw>| -> Result<Option<SocketAddr>, ConfigError> {
        match raw {
            Some(raw) => match raw.value.parse::<SocketAddr>() {
                Ok(addr) => Ok(Some(addr)),
                Err(_) => Err(value_error(
                    raw,
                    "invalid socket address (expected IP:PORT, e.g. 0.0.0.0:80)",
                )),
            },
            None => Ok(None),
        }
    };
    let cert = path(pick(
        "tls_cert",
        "WINICHAT_TLS_CERT",
        "--tls-cert",
        flags.tls_cert.clone(),
    ))?;
    let key_raw = pick(
        "tls_key",
        "WINICHAT_TLS_KEY",
        "--tls-key",
        flags.tls_key.clone(),
    );
    let key_origin = key_raw
        .as_ref()
        .map(|r| (r.origin.clone(), r.value.clone()));
    let key = path(key_raw)?;
    let tls = match (cert, key) {
        (Some(cert), key) => Some(TlsFiles {
            key: key.unwrap_or_else(|| cert.clone()),
            cert,
        }),
        (None, Some(_)) => {
            let (origin, value) = key_origin.unwrap_or((Origin::Derived("tls_key"), String::new()));
            return Err(ConfigError::Value {
                origin,
                value,
                reason: "tls_key needs tls_cert".into(),
            });
        }
        (None, None) => None,
    };
    let redirect_raw = pick(
        "tls_redirect_http",
        "WINICHAT_TLS_REDIRECT_HTTP",
        "--tls-redirect-http",
        flags.tls_redirect_http.clone(),
    );
    let redirect_http = match (redirect_raw, &tls) {
        (Some(raw), None) => return Err(value_error(raw, "a redirect to HTTPS needs tls_cert")),
        (raw, _) => addr(raw)?,
    };
    let metrics = addr(pick(
        "metrics_listen",
        "WINICHAT_METRICS_LISTEN",
        "--metrics-listen",
        flags.metrics_listen.clone(),
    ))?;
    Ok(ListenerSettings {
        tls,
        redirect_http,
        metrics,
    })
}
