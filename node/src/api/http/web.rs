//! `GET /*` (the router's fallback): the built web app (`client-web/dist`).
//!
//! - Files under the web directory are served by tower-http's `ServeDir` (content types, HEAD,
//!   ranges, conditional requests).
//! - The build writes a brotli (`.br`) and a gzip (`.gz`) copy next to each compressible file
//!   (`client-web/vite-plugins/precompress.ts`); a client that accepts one gets it with its
//!   `Content-Encoding`, and every answer says `Vary: accept-encoding`. Nothing is compressed
//!   per request.
//! - Client routes (`/settings/sessions`, …) get `index.html`: the app's router takes over. The
//!   node's own paths (`/api`, `/ws`, `/healthz`, `/.well-known`) never do: an unknown one is a
//!   JSON `404 not_found`, so a typo in an API call is not answered with a web page.
//! - Hashed files under `/assets/` are cached for a year (`immutable`); everything else,
//!   `index.html` first, is `no-cache` so a new build is picked up on the next load.
//! - Every answer carries a strict Content-Security-Policy, `X-Content-Type-Options: nosniff`
//!   and `Referrer-Policy: no-referrer`.
//! - A path with a `..` segment (raw or percent-encoded) is refused with 400 before any file
//!   is looked up.
//! - If the directory holds no `index.html`, pages answer a short HTML note that the web app
//!   is not built (the API keeps working).

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower::ServiceExt as _;
use tower_http::services::{ServeDir, ServeFile};

use super::AppState;

/// The Content-Security-Policy of every page: only this origin's scripts, styles and
/// connections; no plugins, no `<base>`, no framing.
pub const CSP: &str = "default-src 'self'; connect-src 'self'; img-src 'self' blob: data:; \
    media-src 'self' blob:; style-src 'self'; script-src 'self'; object-src 'none'; \
    base-uri 'none'; frame-ancestors 'none'";

/// `Cache-Control` of hashed assets: their name changes whenever their content does.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Path prefixes the node answers itself; the SPA fallback never covers them.
const NODE_PATHS: [&str; 4] = ["/api", "/ws", "/healthz", "/.well-known"];

/// The note `/` shows when the web directory has no `index.html`.
const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
    <title>WiniChat</title></head><body><h1>WiniChat</h1><p>This node is running, but its web \
    app is not built. Build it with <code>npm ci &amp;&amp; npm run build</code> in \
    <code>client-web/</code> (or start the node with <code>cargo serve</code>), or point \
    <code>web_dir</code> at a built copy.</p></body></html>";

/// Where the built web app lives. Cheap to clone.
#[derive(Debug, Clone)]
pub struct WebDir(Arc<PathBuf>);

impl WebDir {
    /// The configured directory, or [`default_web_dir`] when none is configured.
    pub fn new(configured: Option<PathBuf>) -> WebDir {
        WebDir(Arc::new(configured.unwrap_or_else(default_web_dir)))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

/// `client-web/dist` of the source tree this binary was built from.
pub fn default_web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("client-web")
        .join("dist")
}

/// The router's fallback: every request no other route took.
pub async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if is_node_path(&path) {
        return not_found();
    }
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let mut response = StatusCode::METHOD_NOT_ALLOWED.into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    if is_traversal(&path) {
        return with_security_headers((StatusCode::BAD_REQUEST, "bad path").into_response());
    }

    let dir = state.web.path();
    let index = dir.join("index.html");
    if !index.is_file() {
        let response = if path.starts_with("/assets/") {
            StatusCode::NOT_FOUND.into_response()
        } else {
            (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                NOT_BUILT,
            )
                .into_response()
        };
        return with_security_headers(no_cache(response));
    }

    let is_asset = path.starts_with("/assets/");
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let response = serve(files, request.clone_parts()).await;
    let response = if response.status() == StatusCode::NOT_FOUND && !is_asset {
        // A client route: the app's own router decides what it shows.
        let index = ServeFile::new(&index)
            .precompressed_br()
            .precompressed_gzip();
        serve(index, request).await
    } else {
        response
    };
    let response = if is_asset && response.status().is_success() {
        immutable(response)
    } else {
        no_cache(response)
    };
    with_security_headers(response)
}

/// True for `/api`, `/api/…` and the other paths the node owns.
fn is_node_path(path: &str) -> bool {
    NODE_PATHS.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// True if any segment of the path, raw or percent-decoded, is `..`, or holds a backslash or
/// NUL (which some file systems read as separators or terminators).
fn is_traversal(path: &str) -> bool {
    let decoded = percent_decode(path);
    [path, decoded.as_str()].iter().any(|p| {
        p.contains('\\') || p.contains('\0') || p.split('/').any(|segment| segment == "..")
    })
}

/// Percent-decodes a path leniently (an invalid escape stays as written).
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(hex) = std::str::from_utf8(hex)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn serve<S>(service: S, request: Request) -> Response
where
    S: tower::Service<Request, Error = Infallible> + Send,
    S::Response: IntoResponse,
    S::Future: Send,
{
    match service.oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

/// Splits off a copy of a body-less request (GET/HEAD bodies are ignored), so it can be tried
/// against two services in turn.
trait CloneParts {
    fn clone_parts(&self) -> Request;
}

impl CloneParts for Request {
    fn clone_parts(&self) -> Request {
        let mut copy = Request::new(Body::empty());
        *copy.method_mut() = self.method().clone();
        *copy.uri_mut() = self.uri().clone();
        *copy.version_mut() = self.version();
        *copy.headers_mut() = self.headers().clone();
        copy
    }
}

/// `404 {"code":"not_found",…}` for an unknown node path.
fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"code": "not_found", "message": "No such endpoint."})),
    )
        .into_response()
}

fn immutable(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    response
}

fn no_cache(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn with_security_headers(mut response: Response) -> Response {
    set_security_headers(response.headers_mut());
    response
}

fn set_security_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

#[cfg(test)]
mod tests;
