//! The web app's static serving, through the whole router (no socket).

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use tower::ServiceExt as _;

use super::{CSP, IMMUTABLE};
use crate::api::http::{AppState, app, tests::state};

const INDEX: &str = "<!doctype html><title>WiniChat</title><div id=app></div>";
const SCRIPT: &str = "console.log('app')";

/// A state whose web directory (`<tmp>/web`) holds a small built app.
async fn built(dir: &std::path::Path) -> AppState {
    let web = dir.join("web");
    std::fs::create_dir_all(web.join("assets")).expect("mkdir");
    std::fs::write(web.join("index.html"), INDEX).expect("index");
    std::fs::write(web.join("assets/index-AbC123.js"), SCRIPT).expect("asset");
    std::fs::write(web.join("favicon.svg"), "<svg/>").expect("favicon");
    // A secret next to the web dir that traversal must not reach.
    std::fs::write(dir.join("secret.txt"), "do not serve").expect("secret");
    state(dir).await
}

async fn get(state: &AppState, path: &str) -> (StatusCode, HeaderMap, String) {
    let request = Request::get(path).body(Body::empty()).expect("request");
    let response = app(state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), 64 * 1024)
        .await
        .expect("body");
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(&name)
        .map(|v| v.to_str().expect("ascii"))
        .unwrap_or_else(|| panic!("no {name} header"))
}

fn assert_security_headers(headers: &HeaderMap) {
    assert_eq!(header(headers, header::CONTENT_SECURITY_POLICY), CSP);
    assert_eq!(header(headers, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(header(headers, header::REFERRER_POLICY), "no-referrer");
}

#[tokio::test]
async fn index_is_served_no_cache_with_a_strict_csp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = built(dir.path()).await;
    let (status, headers, body) = get(&state, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, INDEX);
    assert!(header(&headers, header::CONTENT_TYPE).starts_with("text/html"));
    assert_eq!(header(&headers, header::CACHE_CONTROL), "no-cache");
    assert_security_headers(&headers);
    let csp = header(&headers, header::CONTENT_SECURITY_POLICY);
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "CSP lacks {directive}");
    }
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_other_files_are_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = built(dir.path()).await;
    let (status, headers, body) = get(&state, "/assets/index-AbC123.js").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, SCRIPT);
    assert!(header(&headers, header::CONTENT_TYPE).contains("javascript"));
    assert_eq!(header(&headers, header::CACHE_CONTROL), IMMUTABLE);
    assert_security_headers(&headers);

    let (status, headers, _) = get(&state, "/favicon.svg").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, header::CACHE_CONTROL), "no-cache");

    // A missing asset is a 404, not the app (a stale page must not get HTML for a script).
    let (status, headers, body) = get(&state, "/assets/index-Gone99.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_ne!(body, INDEX);
    assert_ne!(header(&headers, header::CACHE_CONTROL), IMMUTABLE);
}

#[tokio::test]
async fn client_routes_fall_back_to_the_app() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = built(dir.path()).await;
    for path in ["/login", "/settings/sessions", "/u/@alice:example.org"] {
        let (status, headers, body) = get(&state, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body, INDEX, "{path}");
        assert_eq!(header(&headers, header::CACHE_CONTROL), "no-cache");
        assert_security_headers(&headers);
    }
}

#[tokio::test]
async fn node_paths_are_never_the_app() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = built(dir.path()).await;
    for path in [
        "/api",
        "/api/unknown",
        "/api/auth/nope",
        "/.well-known/unknown",
        "/healthz/extra",
    ] {
        let (status, headers, body) = get(&state, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_ne!(body, INDEX, "{path}");
        assert!(
            header(&headers, header::CONTENT_TYPE).starts_with("application/json"),
            "{path}"
        );
        let json: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(json["code"], "not_found");
    }
    // A path that merely starts with the same letters is a client route.
    let (status, _, body) = get(&state, "/apiary").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, INDEX));
}

#[tokio::test]
async fn path_traversal_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = built(dir.path()).await;
    for path in [
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/%2E%2E/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/..%5csecret.txt",
    ] {
        let (status, _, body) = get(&state, path).await;
        assert!(
            status.is_client_error(),
            "{path}: {status} (expected a refusal)"
        );
        assert!(!body.contains("do not serve"), "{path} leaked the file");
    }
}

#[tokio::test]
async fn only_get_and_head_are_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = built(dir.path()).await;
    let request = Request::post("/login")
        .body(Body::empty())
        .expect("request");
    let response = app(state).oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_missing_build_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = state(dir.path()).await; // <tmp>/web does not exist
    let (status, headers, body) = get(&state, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("not built"), "{body}");
    assert_security_headers(&headers);
    let (status, _, _) = get(&state, "/healthz").await;
    assert_eq!(status, StatusCode::OK, "the API still works");
}

/// GET with an `Accept-Encoding` header; the body as raw bytes.
async fn get_encoded(
    state: &AppState,
    path: &str,
    accept_encoding: &str,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let request = Request::get(path)
        .header(header::ACCEPT_ENCODING, accept_encoding)
        .body(Body::empty())
        .expect("request");
    let response = app(state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), 64 * 1024)
        .await
        .expect("body");
    (status, headers, body.to_vec())
}

#[tokio::test]
async fn precompressed_copies_are_served_to_clients_that_accept_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = built(dir.path()).await;
    let web = dir.path().join("web");
    // Stand-ins for the build's compressed copies: distinct bytes show which one was served.
    std::fs::write(web.join("assets/index-AbC123.js.br"), b"BROTLI").expect("br");
    std::fs::write(web.join("assets/index-AbC123.js.gz"), b"GZIP").expect("gz");
    std::fs::write(web.join("index.html.br"), b"INDEX-BROTLI").expect("index br");

    let (status, headers, body) = get_encoded(&state, "/assets/index-AbC123.js", "gzip, br").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"BROTLI");
    assert_eq!(header(&headers, header::CONTENT_ENCODING), "br");
    assert_eq!(header(&headers, header::VARY), "accept-encoding");
    assert!(header(&headers, header::CONTENT_TYPE).contains("javascript"));
    assert_eq!(header(&headers, header::CACHE_CONTROL), IMMUTABLE);
    assert_security_headers(&headers);

    let (_, headers, body) = get_encoded(&state, "/assets/index-AbC123.js", "gzip").await;
    assert_eq!(body, b"GZIP");
    assert_eq!(header(&headers, header::CONTENT_ENCODING), "gzip");

    // No acceptable encoding: the plain file, still marked as varying.
    let (_, headers, body) = get_encoded(&state, "/assets/index-AbC123.js", "identity").await;
    assert_eq!(body, SCRIPT.as_bytes());
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(header(&headers, header::VARY), "accept-encoding");

    // The app's page for a client route comes compressed too.
    let (status, headers, body) = get_encoded(&state, "/settings/sessions", "br").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"INDEX-BROTLI");
    assert_eq!(header(&headers, header::CONTENT_ENCODING), "br");
    assert!(header(&headers, header::CONTENT_TYPE).starts_with("text/html"));
    // A file without compressed copies is served as it is.
    let (_, headers, body) = get_encoded(&state, "/favicon.svg", "br, gzip").await;
    assert_eq!(body, b"<svg/>");
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
}
