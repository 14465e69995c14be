//! `/api/auth/…`: registration, login, token refresh, logout, sessions, password change.
//! One file per endpoint; the shared pieces (errors, the refresh cookie, the bearer token,
//! the client address) are here. See `spec/auth.md`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, COOKIE, RETRY_AFTER, SET_COOKIE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use winichat_protocol::error_code::ErrorCode;

use super::AppState;
use crate::auth::{AccessClaims, AuthError, Issued, REFRESH_TTL};
use crate::client_addr::{ClientAddr, ClientKey};

pub mod login;
pub mod logout;
pub mod password;
pub mod refresh;
pub mod register;
pub mod revoke_others;
pub mod revoke_session;
pub mod sessions;

/// Name of the refresh-token cookie.
pub const REFRESH_COOKIE: &str = "winichat_refresh";
/// Path the refresh cookie is scoped to.
pub const COOKIE_PATH: &str = "/api/auth";

/// The HTTP status of an error code.
pub fn status_of(code: &ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest | ErrorCode::UnknownMethod => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error answer: `{code, message}` with the matching status.
#[derive(Debug)]
pub struct ApiError(pub AuthError);

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        ApiError(e)
    }
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    code: &'a str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.0.code();
        let body = Json(ErrorJson {
            code: code.as_str(),
            message: self.0.to_string(),
        });
        let mut response = (status_of(&code), body).into_response();
        if let AuthError::RateLimited { retry_after } = &self.0 {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                response.headers_mut().insert(RETRY_AFTER, v);
            }
        }
        if matches!(code, ErrorCode::Unauthenticated) {
            response
                .headers_mut()
                .insert("www-authenticate", HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A JSON body that failed to parse becomes `400 bad_request` in our error shape.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(e) => Err(ApiError(AuthError::BadRequest(format!(
                "invalid request body: {}",
                e.body_text()
            )))),
        }
    }
}

/// The caller, from `Authorization: Bearer <access token>`.
#[derive(Debug)]
pub struct Bearer(pub AccessClaims);

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(ApiError(AuthError::Unauthenticated(
                "missing access token (Authorization: Bearer …)",
            )))?;
        Ok(Bearer(state.auth.authenticate(token).await?))
    }
}

/// What the per-client throttles count for this request ([`ClientKey`]): the client's
/// address as the accept loop found it (`X-Forwarded-For` believed only from a trusted
/// proxy), else the TCP peer's (`ConnectInfo`); `None` when neither was recorded.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<ClientKey>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = match parts.extensions.get::<ClientAddr>() {
            Some(ClientAddr(ip)) => Some(*ip),
            None => parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        };
        Ok(ClientIp(ip.map(ClientKey::of)))
    }
}

/// The device description: the request's `device` field, else the User-Agent.
pub fn device(given: Option<&str>, headers: &HeaderMap) -> String {
    given
        .filter(|d| !d.trim().is_empty())
        .map(str::to_owned)
        .or_else(|| {
            headers
                .get(USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The refresh token from the `winichat_refresh` cookie.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == REFRESH_COOKIE)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `Set-Cookie` for a new refresh token.
pub fn set_cookie(state: &AppState, token: &str) -> HeaderValue {
    let secure = if state.auth.settings().secure_cookie {
        "; Secure"
    } else {
        ""
    };
    let value = format!(
        "{REFRESH_COOKIE}={token}; HttpOnly; SameSite=Strict; Path={COOKIE_PATH}; Max-Age={}{secure}",
        REFRESH_TTL.as_secs()
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Set-Cookie` that deletes the refresh cookie.
pub fn clear_cookie(state: &AppState) -> HeaderValue {
    let secure = if state.auth.settings().secure_cookie {
        "; Secure"
    } else {
        ""
    };
    let value = format!(
        "{REFRESH_COOKIE}=; HttpOnly; SameSite=Strict; Path={COOKIE_PATH}; Max-Age=0{secure}"
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The body of register, login and refresh answers.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// The user.
    pub user_id: String,
    /// The access token.
    pub access_token: String,
    /// When it expires, Unix ms.
    pub expires_at: u64,
    /// The new refresh token, only for clients that sent it in the body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// The answer carrying tokens: JSON body plus the refresh cookie.
pub fn issued(state: &AppState, status: StatusCode, issued: Issued, in_body: bool) -> Response {
    let cookie = set_cookie(state, &issued.refresh_token);
    let body = TokenResponse {
        user_id: issued.user.to_string(),
        access_token: issued.access_token,
        expires_at: issued.expires_at.0,
        refresh_token: in_body.then_some(issued.refresh_token),
    };
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(SET_COOKIE, cookie);
    response
        .headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    response
}
