//! What the node writes to its logs, and what it must never write there.
//!
//! Access tokens travel in the gateway's `auth` frame and in `Authorization` headers, media
//! signatures in download URLs (`?exp=…&sig=…`). A log file is read by more people, kept longer
//! and copied further than the node's memory, so none of those may reach it at any level:
//! request URIs are logged with their secret query values replaced, and the libraries that
//! dump raw frames or bytes at their most verbose levels are capped below those levels.

use axum::http::{Request, Uri};
use tracing::Span;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{Directive, ParseError};

/// Query parameters whose values are secrets (media signatures, tokens of any kind).
const SECRET_PARAMS: [&str; 5] = ["sig", "token", "access_token", "refresh_token", "signature"];

/// Libraries that log whole frames or buffers (payload bytes included) at trace or debug, with
/// the most verbose level each may log at whatever the operator asks for.
const CAPPED: [&str; 6] = [
    "tungstenite=info",
    "tokio_tungstenite=info",
    "hyper=info",
    "hyper_util=info",
    "h2=info",
    "reqwest=info",
];

/// The node's log filter from an `EnvFilter` spec (e.g. `info`, `winichat_node=debug`), with
/// the [`CAPPED`] libraries held below the levels at which they dump payload bytes.
pub fn filter(spec: &str) -> Result<EnvFilter, ParseError> {
    let mut filter = EnvFilter::try_new(spec)?;
    for cap in CAPPED {
        let directive: Directive = cap.parse()?;
        filter = filter.add_directive(directive);
    }
    Ok(filter)
}

/// Paths whose last segment is a secret: the web app's page for an invite link
/// (`/join/<code>`), which the browser loads from the node like any other page.
const SECRET_PATH_PREFIXES: [&str; 1] = ["/join/"];

/// `uri` as it may be logged: the path (an invite code in it replaced by `REDACTED`), and the
/// query with the value of every secret parameter replaced by `REDACTED`.
pub fn redacted_uri(uri: &Uri) -> String {
    let path = match SECRET_PATH_PREFIXES
        .iter()
        .find(|prefix| uri.path().starts_with(*prefix))
    {
        Some(prefix) => format!("{prefix}REDACTED"),
        None => uri.path().to_owned(),
    };
    let Some(query) = uri.query() else {
        return path;
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret(name) => format!("{name}=REDACTED"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

fn is_secret(name: &str) -> bool {
    SECRET_PARAMS.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// The span of one HTTP request (for `TraceLayer::make_span_with`): method, redacted URI and
/// version, at debug like tower-http's default span; never the headers.
pub fn request_span<B>(request: &Request<B>) -> Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %redacted_uri(request.uri()),
        version = ?request.version(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_query_values_are_redacted() {
        let uri: Uri = "/api/media/abcd?exp=1700000000&sig=c2VjcmV0&Token=t0k"
            .parse()
            .expect("uri");
        assert_eq!(
            redacted_uri(&uri),
            "/api/media/abcd?exp=1700000000&sig=REDACTED&Token=REDACTED"
        );
        let plain: Uri = "/healthz".parse().expect("uri");
        assert_eq!(redacted_uri(&plain), "/healthz");
        let invite: Uri = "/join/s3cr3tC0de?x=1".parse().expect("uri");
        assert_eq!(redacted_uri(&invite), "/join/REDACTED?x=1");
    }

    #[test]
    fn payload_dumping_libraries_stay_capped_under_trace() {
        let f = filter("trace").expect("filter");
        let text = f.to_string();
        assert!(text.contains("tungstenite=info"), "{text}");
        assert!(filter("tungstenite=trace").is_ok());
    }
}
