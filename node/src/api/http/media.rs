//! `/api/media`: upload (`POST /api/media?name=…`, the raw bytes as the body) and download
//! (`GET /api/media/{hex}` and `GET /api/media/{hex}/thumb/{size}`). See `spec/media.md`.
//!
//! Every path and query value is parsed before use — the hash must be exactly 64 lowercase hex
//! digits, a thumbnail size one of `THUMB_SIZES`, a file name free of `/`, `\`, `..` and
//! control characters — so nothing a client sends reaches a file path. Downloads need a signed
//! URL or a Bearer token of a user who may see the media; every refusal is the same `404` as
//! unknown media. Media is served so a browser never renders it as a page of this origin:
//! `nosniff`, `Content-Security-Policy: sandbox`, and files only as attachments.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::{
    ACCEPT_RANGES, AUTHORIZATION, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH,
    CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_NONE_MATCH, IF_RANGE, RANGE, RETRY_AFTER,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use winichat_protocol::media::{MediaInfo, MediaKind};

use super::AppState;
use super::auth::{ApiError, Bearer};
use crate::media::attach::{check_download_name, check_name};
use crate::media::store::Variant;
use crate::media::{Access, MediaError, now};

const NOSNIFF: (HeaderName, HeaderValue) = (
    HeaderName::from_static("x-content-type-options"),
    HeaderValue::from_static("nosniff"),
);
const SANDBOX: (HeaderName, HeaderValue) = (
    HeaderName::from_static("content-security-policy"),
    HeaderValue::from_static("sandbox"),
);
const IMMUTABLE: HeaderValue = HeaderValue::from_static("private, max-age=31536000, immutable");

/// A media error as an HTTP answer: `{code, message}` with its status, and the headers every
/// media response carries.
#[derive(Debug)]
pub struct MediaApiError(pub MediaError);

impl From<MediaError> for MediaApiError {
    fn from(e: MediaError) -> Self {
        MediaApiError(e)
    }
}

#[derive(Serialize)]
struct ErrorJson {
    code: String,
    message: String,
}

impl IntoResponse for MediaApiError {
    fn into_response(self) -> Response {
        if self.0.is_internal() {
            tracing::error!(error = %self.0, "media request failed");
        }
        let body = Json(ErrorJson {
            code: self.0.code().as_str().to_owned(),
            message: self.0.client_message(),
        });
        let mut response = (self.0.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(NOSNIFF.0, NOSNIFF.1);
        headers.insert(SANDBOX.0, SANDBOX.1);
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if matches!(self.0, MediaError::TooManyUploads { .. }) {
            // A place frees as soon as one of the user's uploads ends.
            headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// `POST /api/media` query.
#[derive(Debug, Deserialize)]
pub struct PostQuery {
    /// The file's name (checked, not stored: it is given again when attaching).
    pub name: Option<String>,
}

fn bad_query(e: &QueryRejection) -> MediaApiError {
    MediaApiError(MediaError::invalid(format!(
        "invalid query: {}",
        e.body_text()
    )))
}

/// `POST /api/media?name=…` — the body is the file's bytes, streamed (never buffered whole):
/// `201` new for this user, `200` the same bytes again (even at a full quota); `413` over the
/// size limit, `403` over the quota, `422` an image over the dimension limits, `429` (with
/// `Retry-After`) when the user has the most uploads in progress, `401` without a valid token.
pub async fn post(
    State(state): State<AppState>,
    bearer: Result<Bearer, ApiError>,
    query: Result<Query<PostQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Bearer(claims) = match bearer {
        Ok(bearer) => bearer,
        Err(e) => return e.into_response(),
    };
    let result = async {
        let Query(query) = query.map_err(|e| bad_query(&e))?;
        if let Some(name) = &query.name {
            check_name(name)?;
        }
        let declared = match headers.get(CONTENT_LENGTH) {
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| MediaError::invalid("invalid Content-Length"))?,
            ),
            None => None,
        };
        let uploaded = state
            .media
            .upload(&claims.user, declared, body.into_data_stream())
            .await?;
        Ok::<_, MediaApiError>(uploaded)
    }
    .await;
    let uploaded = match result {
        Ok(uploaded) => uploaded,
        Err(e) => return e.into_response(),
    };
    let status = if uploaded.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let r = uploaded.record;
    let body = MediaInfo {
        id: uploaded.id,
        kind: r.kind,
        mime: r.mime,
        size: r.size,
        width: r.width,
        height: r.height,
        duration_ms: r.duration_ms,
        blurhash: r.blurhash,
    };
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /api/media/{hex}` query.
#[derive(Debug, Deserialize)]
pub struct GetQuery {
    /// Signed URL: expiry, Unix ms.
    pub exp: Option<String>,
    /// Signed URL: signature.
    pub sig: Option<String>,
    /// `1`: serve as an attachment.
    pub dl: Option<String>,
    /// The file name for `Content-Disposition`.
    pub name: Option<String>,
}

/// `GET /api/media/{hex}` — the bytes.
pub async fn get(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<GetQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let hex = match path {
        Ok(Path(hex)) => hex,
        Err(_) => return MediaApiError(MediaError::invalid("invalid media path")).into_response(),
    };
    serve(&state, &hex, None, query, &headers)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/media/{hex}/thumb/{size}` — a thumbnail of an image.
pub async fn get_thumb(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<GetQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let (hex, size) = match path {
        Ok(Path(p)) => p,
        Err(_) => return MediaApiError(MediaError::invalid("invalid media path")).into_response(),
    };
    serve(&state, &hex, Some(&size), query, &headers)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// Exactly 64 lowercase hex digits.
pub fn parse_hex(hex: &str) -> Result<[u8; 32], MediaError> {
    let invalid = || MediaError::invalid("a media hash is 64 lowercase hex digits");
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(invalid());
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex, &mut out).map_err(|_| invalid())?;
    Ok(out)
}

/// A thumbnail size: decimal digits only, no leading zero (the list is checked later).
fn parse_size(text: &str) -> Result<u32, MediaError> {
    let invalid = || MediaError::invalid("no such thumbnail size");
    if text.is_empty() || text.len() > 5 || text.starts_with('0') {
        return Err(invalid());
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    text.parse().map_err(|_| invalid())
}

async fn serve(
    state: &AppState,
    hex: &str,
    thumb: Option<&str>,
    query: Result<Query<GetQuery>, QueryRejection>,
    headers: &HeaderMap,
) -> Result<Response, Response> {
    let err = |e: MediaError| MediaApiError(e).into_response();
    let sha256 = parse_hex(hex).map_err(err)?;
    let thumb = thumb.map(parse_size).transpose().map_err(err)?;
    let Query(query) = query.map_err(|e| bad_query(&e).into_response())?;
    if let Some(name) = &query.name {
        check_download_name(name).map_err(err)?;
    }
    let download = match query.dl.as_deref() {
        None | Some("0") => false,
        Some("1") => true,
        Some(_) => return Err(err(MediaError::invalid("dl is 0 or 1"))),
    };

    let claims;
    let access = match (&query.exp, &query.sig) {
        (Some(exp), Some(sig)) => Access::Signed { exp, sig },
        (None, None) => match bearer_token(headers) {
            Some(token) => {
                claims = state
                    .auth
                    .authenticate(token)
                    .await
                    .map_err(|e| ApiError(e).into_response())?;
                Access::User(&claims.user)
            }
            None => return Err(err(MediaError::NotFound)),
        },
        _ => {
            return Err(err(MediaError::invalid(
                "a signed URL has both exp and sig",
            )));
        }
    };
    let opened = state
        .media
        .open(access, &sha256, thumb, now())
        .await
        .map_err(err)?;

    let etag = match opened.key.variant() {
        Variant::Original => format!("\"{hex}\""),
        Variant::Thumb(size) => format!("\"{hex}-{size}\""),
    };
    let inline = !download
        && match opened.key.variant() {
            Variant::Thumb(_) => true,
            Variant::Original => matches!(
                opened.record.kind,
                MediaKind::Image | MediaKind::Audio | MediaKind::Voice | MediaKind::Video
            ),
        };
    let mut common = HeaderMap::new();
    common.insert(NOSNIFF.0, NOSNIFF.1);
    common.insert(SANDBOX.0, SANDBOX.1);
    common.insert(CACHE_CONTROL, IMMUTABLE);
    common.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    insert(&mut common, ETAG, &etag);
    insert(&mut common, CONTENT_TYPE, &opened.mime);
    insert(
        &mut common,
        CONTENT_DISPOSITION,
        &disposition(inline, query.name.as_deref()),
    );

    if etag_matches(headers.get(IF_NONE_MATCH), &etag) {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }

    let size = opened.size;
    let range_applies = headers
        .get(IF_RANGE)
        .is_none_or(|v| v.to_str().is_ok_and(|v| v.trim() == etag));
    let range = if range_applies {
        parse_range(headers.get(RANGE), size)
    } else {
        RangeRequest::Whole
    };
    let (status, range) = match range {
        RangeRequest::Whole => (StatusCode::OK, None),
        RangeRequest::Part(r) => {
            insert(
                &mut common,
                CONTENT_RANGE,
                &format!("bytes {}-{}/{size}", r.start, r.end - 1),
            );
            (StatusCode::PARTIAL_CONTENT, Some(r))
        }
        RangeRequest::Unsatisfiable => {
            insert(&mut common, CONTENT_RANGE, &format!("bytes */{size}"));
            common.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, common).into_response());
        }
    };
    let length = range.as_ref().map_or(size, |r| r.end - r.start);
    let read = state.media.read(&opened.key, range).await.map_err(err)?;
    insert(&mut common, CONTENT_LENGTH, &length.to_string());
    Ok((status, common, Body::from_stream(read.stream)).into_response())
}

fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(v) => {
            headers.insert(name, v);
        }
        Err(_) => tracing::warn!(%name, "media header value is not valid"),
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

fn etag_matches(header: Option<&HeaderValue>, etag: &str) -> bool {
    header.and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == etag || t == "*")
    })
}

/// `inline` or `attachment`, with `filename*=UTF-8''…` when a name is known.
pub fn disposition(inline: bool, name: Option<&str>) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    match name {
        Some(name) => format!("{kind}; filename*=UTF-8''{}", encode_rfc5987(name)),
        None => kind.to_owned(),
    }
}

/// Percent-encodes everything but RFC 5987's `attr-char`.
fn encode_rfc5987(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What a `Range` header asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range (absent, malformed, another unit, or several ranges): the whole body.
    Whole,
    /// One satisfiable range, clamped to the size (end exclusive).
    Part(std::ops::Range<u64>),
    /// A range that starts past the end (`416`).
    Unsatisfiable,
}

/// Parses one `bytes=a-b`, `bytes=a-` or `bytes=-n` against a body of `size` bytes.
pub fn parse_range(header: Option<&HeaderValue>, size: u64) -> RangeRequest {
    let Some(text) = header.and_then(|v| v.to_str().ok()) else {
        return RangeRequest::Whole;
    };
    let text = text.trim();
    let Some(spec) = text
        .get(..6)
        .filter(|unit| unit.eq_ignore_ascii_case("bytes="))
        .map(|_| text[6..].trim())
    else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeRequest::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    // Digits only; a number too large for u64 is "very large" (saturates).
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| {
            s.bytes().fold(0u64, |n, d| {
                n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
            })
        })
    };
    match (first.is_empty(), last.is_empty()) {
        // bytes=-n: the last n bytes.
        (true, false) => match number(last) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(_) if size == 0 => RangeRequest::Unsatisfiable,
            Some(n) => RangeRequest::Part(size - n.min(size)..size),
            None => RangeRequest::Whole,
        },
        // bytes=a-
        (false, true) => match number(first) {
            Some(a) if a >= size => RangeRequest::Unsatisfiable,
            Some(a) => RangeRequest::Part(a..size),
            None => RangeRequest::Whole,
        },
        // bytes=a-b
        (false, false) => match (number(first), number(last)) {
            (Some(a), Some(b)) if a > b => RangeRequest::Whole,
            (Some(a), Some(_)) if a >= size => RangeRequest::Unsatisfiable,
            (Some(a), Some(b)) => RangeRequest::Part(a..b.min(size - 1) + 1),
            _ => RangeRequest::Whole,
        },
        (true, true) => RangeRequest::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str, size: u64) -> RangeRequest {
        parse_range(Some(&HeaderValue::from_str(text).expect("header")), size)
    }

    #[test]
    fn ranges() {
        use RangeRequest::{Part, Unsatisfiable, Whole};
        assert_eq!(parse_range(None, 100), Whole);
        assert_eq!(range("bytes=0-9", 100), Part(0..10));
        assert_eq!(range("bytes=10-", 100), Part(10..100));
        assert_eq!(range("bytes=-5", 100), Part(95..100));
        assert_eq!(range("bytes=-500", 100), Part(0..100));
        assert_eq!(range("bytes=90-200", 100), Part(90..100));
        assert_eq!(range("bytes=99-99", 100), Part(99..100));
        assert_eq!(range("Bytes = 1-2", 100), Whole, "no space before =");
        assert_eq!(range("BYTES=1-2", 100), Part(1..3));
        assert_eq!(range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(range("bytes=100-200", 100), Unsatisfiable);
        assert_eq!(range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(range("bytes=99999999999999999999999-", 100), Unsatisfiable);
        assert_eq!(range("bytes=0-99999999999999999999999", 100), Part(0..100));
        assert_eq!(range("bytes=0-1,5-6", 100), Whole, "several ranges");
        assert_eq!(range("bytes=5-1", 100), Whole, "invalid");
        assert_eq!(range("bytes=a-b", 100), Whole);
        assert_eq!(range("bytes=-", 100), Whole);
        assert_eq!(range("bytes=+1-2", 100), Whole);
        assert_eq!(range("items=0-1", 100), Whole);
        assert_eq!(range("bytes=0-0", 0), Unsatisfiable);
        assert_eq!(range("bytes=-1", 0), Unsatisfiable);
    }

    #[test]
    fn hashes_and_sizes() {
        let good = "0123456789abcdef".repeat(4);
        assert_eq!(parse_hex(&good).expect("good")[0], 0x01);
        for bad in [
            "0123456789ABCDEF".repeat(4),
            "a".repeat(63),
            "a".repeat(65),
            "../..".into(),
            "..".into(),
            format!("{}g", "a".repeat(63)),
            format!("{}/", "a".repeat(63)),
            String::new(),
        ] {
            assert!(parse_hex(&bad).is_err(), "{bad}");
        }
        assert_eq!(parse_size("320").expect("size"), 320);
        for bad in ["", "0320", "-1", "+96", "96.0", "999999", " 96"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dispositions() {
        assert_eq!(disposition(true, None), "inline");
        assert_eq!(disposition(false, None), "attachment");
        assert_eq!(
            disposition(false, Some("my file (1).pdf")),
            "attachment; filename*=UTF-8''my%20file%20%281%29.pdf"
        );
        assert_eq!(
            disposition(true, Some("é\"x;.png")),
            "inline; filename*=UTF-8''%C3%A9%22x%3B.png"
        );
    }
}
