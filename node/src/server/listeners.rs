//! The node's optional listeners and what goes with them: HTTPS on the main listener (its
//! certificate, reloaded on SIGHUP, and HSTS), the plain-HTTP redirect to HTTPS, and the
//! metrics listener.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header::{HOST, LOCATION, STRICT_TRANSPORT_SECURITY};
use axum::http::uri::Authority;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::signal::unix::Signal;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;
use crate::connections::tls::ReloadingCertificate;
use crate::connections::{self, ConnectionSettings};
use crate::error::{Listener, NodeError};
use crate::telemetry::{self, Readiness, Sources};

/// HSTS: browsers use HTTPS only for a year after seeing it. Subdomains are left alone: the
/// node may share its domain with other services.
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");

/// Connections the metrics and redirect listeners hold at once: a scraper or a browser being
/// redirected needs few.
const SMALL_LISTENER_CONNECTIONS: usize = 256;

/// The optional listeners, bound.
pub(super) struct Optional {
    /// The certificate in force and an acceptor presenting it, when TLS is on.
    pub tls: Option<(Arc<ReloadingCertificate>, TlsAcceptor)>,
    /// SIGHUP, listened for from start-up on when TLS is on (so a SIGHUP sent as soon as
    /// the node has started reloads rather than ends it).
    pub hangup: Option<Signal>,
    /// The redirect listener and its address.
    pub redirect: Option<(TcpListener, SocketAddr)>,
    /// The metrics listener and its address.
    pub metrics: Option<(TcpListener, SocketAddr)>,
}

impl Optional {
    /// Loads the certificate and binds the listeners the config asks for. A bad certificate
    /// or a taken port stops the start.
    pub(super) async fn bind(config: &Config) -> Result<Optional, NodeError> {
        let tls = match &config.listeners.tls {
            Some(files) => {
                let certificate = Arc::new(ReloadingCertificate::load(files.clone())?);
                let acceptor = certificate.acceptor()?;
                Some((certificate, acceptor))
            }
            None => None,
        };
        let hangup = match &tls {
            Some(_) => match connections::tls::listen_for_sighup() {
                Ok(hangup) => Some(hangup),
                Err(e) => {
                    tracing::error!(error = %e,
                        "cannot listen for SIGHUP; the HTTPS certificate will not be reloaded");
                    None
                }
            },
            None => None,
        };
        let redirect = match config.listeners.redirect_http {
            Some(addr) => Some(bind_tcp(addr, Listener::Redirect).await?),
            None => None,
        };
        let metrics = match config.listeners.metrics {
            Some(addr) => Some(bind_tcp(addr, Listener::Metrics).await?),
            None => None,
        };
        Ok(Optional {
            tls,
            hangup,
            redirect,
            metrics,
        })
    }

    /// The bound metrics address.
    pub(super) fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, addr)| *addr)
    }

    /// The bound redirect address.
    pub(super) fn redirect_addr(&self) -> Option<SocketAddr> {
        self.redirect.as_ref().map(|(_, addr)| *addr)
    }

    /// The main router as served: with HSTS on every response when TLS is on.
    pub(super) fn main_router(&self, router: Router, readiness: &Readiness) -> Router {
        let router = router.merge(telemetry::ready_router(readiness.clone()));
        match self.tls {
            Some(_) => router.layer(SetResponseHeaderLayer::if_not_present(
                STRICT_TRANSPORT_SECURITY,
                HSTS,
            )),
            None => router,
        }
    }

    /// Starts what runs beside the main listener until `shutdown` turns true: the SIGHUP
    /// certificate reload, the redirect listener (to HTTPS on `https_port`) and the metrics
    /// listener. Returns the acceptor for the main listener and the tasks to wait for.
    pub(super) fn spawn(
        self,
        https_port: u16,
        sources: Option<Sources>,
        readiness: &Readiness,
        shutdown: &watch::Receiver<bool>,
    ) -> (Option<TlsAcceptor>, Vec<JoinHandle<()>>) {
        let mut tasks = Vec::new();
        let acceptor = match self.tls {
            Some((certificate, acceptor)) => {
                if let Some(hangup) = self.hangup {
                    tasks.push(connections::tls::reload_on_sighup(
                        hangup,
                        certificate,
                        shutdown.clone(),
                    ));
                }
                Some(acceptor)
            }
            None => None,
        };
        let small = ConnectionSettings {
            max_connections: SMALL_LISTENER_CONNECTIONS,
            ..ConnectionSettings::default()
        };
        if let Some((listener, _)) = self.redirect {
            let router = Router::new()
                .fallback(redirect_to_https)
                .with_state(HttpsPort(https_port));
            tasks.push(tokio::spawn(connections::serve(
                listener,
                "redirect",
                router,
                small.clone(),
                None,
                super::requested(shutdown.clone()),
            )));
        }
        if let (Some((listener, _)), Some(sources)) = (self.metrics, sources) {
            tasks.push(tokio::spawn(telemetry::upkeep(
                sources.handle.clone(),
                shutdown.clone(),
            )));
            tasks.push(tokio::spawn(connections::serve(
                listener,
                "metrics",
                telemetry::metrics_router(sources, readiness.clone()),
                small,
                None,
                super::requested(shutdown.clone()),
            )));
        }
        (acceptor, tasks)
    }
}

async fn bind_tcp(
    addr: SocketAddr,
    listener: Listener,
) -> Result<(TcpListener, SocketAddr), NodeError> {
    let error = |source| NodeError::Bind {
        listener,
        addr,
        source,
    };
    let bound = TcpListener::bind(addr).await.map_err(error)?;
    let local = bound.local_addr().map_err(error)?;
    Ok((bound, local))
}

/// The port HTTPS is served on.
#[derive(Debug, Clone, Copy)]
struct HttpsPort(u16);

/// Any request on the redirect listener — `308` to the same host, path and query over
/// HTTPS (a 308 keeps the method and body), or `400` without a usable `Host` header.
async fn redirect_to_https(
    State(HttpsPort(port)): State<HttpsPort>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<Authority>().ok());
    let Some(host) = host else {
        return (StatusCode::BAD_REQUEST, "a Host header is needed\n").into_response();
    };
    let port = if port == 443 {
        String::new()
    } else {
        format!(":{port}")
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let location = format!("https://{}{port}{path}", host.host());
    match HeaderValue::try_from(location) {
        Ok(location) => (StatusCode::PERMANENT_REDIRECT, [(LOCATION, location)]).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "bad request\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn redirect(host: Option<&str>, path: &str, port: u16) -> Response {
        let router = Router::new()
            .fallback(redirect_to_https)
            .with_state(HttpsPort(port));
        let mut request = axum::http::Request::builder().uri(path);
        if let Some(host) = host {
            request = request.header(HOST, host);
        }
        router
            .oneshot(request.body(axum::body::Body::empty()).expect("request"))
            .await
            .expect("infallible")
    }

    #[tokio::test]
    async fn plain_http_is_sent_to_the_same_place_over_https() {
        let r = redirect(Some("chat.example.org"), "/api/x?a=1", 443).await;
        assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(r.headers()[LOCATION], "https://chat.example.org/api/x?a=1");
        let r = redirect(Some("127.0.0.1:8080"), "/", 8443).await;
        assert_eq!(r.headers()[LOCATION], "https://127.0.0.1:8443/");
        let r = redirect(Some("[::1]:80"), "/ws", 8443).await;
        assert_eq!(r.headers()[LOCATION], "https://[::1]:8443/ws");
        assert_eq!(
            redirect(None, "/", 443).await.status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            redirect(Some("evil.example/x"), "/", 443).await.status(),
            StatusCode::BAD_REQUEST
        );
    }
}
