//! Starting and stopping a node: data directory, identity, listeners, database, tasks.
//!
//! [`start`] does everything that can fail before returning, so a caller (main, or a test
//! harness) learns about a taken port or an unreachable database from its `Result`, and then
//! gets the bound addresses (port 0 is allowed). [`run`] is `start` plus waiting for a
//! shutdown future, in the mini-redis style.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::Endpoint;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use winichat_protocol::ed25519_dalek::VerifyingKey;
use winichat_protocol::ids::NodeName;

use crate::api::http::node_document::DocumentSigner;
use crate::api::http::{self, AppState, NodeDocument};
use crate::config::Config;
use crate::connections::{self, ConnectionSettings};
use crate::data_lock::DataDirLock;
use crate::error::{Listener, NodeError};
use crate::federation::{
    Discovery, FedHandler, Federation, Incoming, Links, PeerDirectory, endpoint, incoming,
};
use crate::identity::{self, NodeIdentity};
use crate::storage;

mod listeners;

/// How long in-flight HTTP requests may take to finish once shutdown starts. Past it we stop
/// waiting for them (a stuck client must not keep the node from stopping): the database closes
/// under them, so they answer 503, and the process exit ends their connections.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A node that is up: listeners bound, database open, tasks running.
///
/// Dropping it without [`RunningNode::shutdown`] also shuts the node down, in the background.
#[derive(Debug)]
pub struct RunningNode {
    /// The bound HTTP address (the real port when port 0 was configured).
    pub http_addr: SocketAddr,
    /// The bound QUIC address (the real port when port 0 was configured).
    pub quic_addr: SocketAddr,
    /// The bound metrics address, when `metrics_listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    /// The bound HTTP→HTTPS redirect address, when `tls_redirect_http` is set.
    pub redirect_addr: Option<SocketAddr>,
    /// The node's name.
    pub node_name: NodeName,
    /// The node's identity public key.
    pub public_key: VerifyingKey,
    /// The media service (tests drive its clean-up directly).
    pub media: crate::media::Media,
    /// The gateway's hub (tests read its memory figures).
    pub hub: crate::api::ws::Hub,
    federation: Federation,
    chats: crate::chat::Chats,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<Result<(), NodeError>>,
}

impl RunningNode {
    /// The node's federation: its peer directory (pin peers, allow and deny lists) and its
    /// client for requests to peers.
    pub fn federation(&self) -> &Federation {
        &self.federation
    }

    /// True once the node knows every stored transaction id, so that new writes no longer
    /// look theirs up in the database (it learns them in the background after start).
    pub fn transaction_ids_known(&self) -> bool {
        self.chats.transaction_ids_known()
    }

    /// Stops the node gracefully (stop accepting, drain HTTP, close QUIC, close the database)
    /// and waits until it has.
    pub async fn shutdown(self) -> Result<(), NodeError> {
        // An error means the node task already ended; waiting below reports how.
        let _ = self.shutdown.send(true);
        self.wait().await
    }

    /// Waits until the node stops, which it does only after a shutdown was requested.
    pub async fn wait(self) -> Result<(), NodeError> {
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(NodeError::Internal(format!("node task failed: {e}"))),
        }
    }
}

/// Runs a node until `shutdown` completes, then stops it gracefully.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), NodeError> {
    let tls = config.listeners.tls.is_some();
    let node = start(config).await?;
    // The line a person starting the node looks for (a log line, so JSON logs stay JSON).
    let url = browser_url(node.http_addr, tls);
    tracing::info!(%url, "WiniChat is ready: open {url} in a browser");
    shutdown.await;
    tracing::info!("shutting down");
    node.shutdown().await
}

/// The address a browser on this machine opens for a node bound to `addr` (serving HTTPS when
/// `tls`): an unspecified address (`0.0.0.0`, `::`) is reached through loopback.
pub fn browser_url(addr: SocketAddr, tls: bool) -> String {
    let ip = match addr.ip() {
        ip if !ip.is_unspecified() => ip,
        std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{}/", SocketAddr::new(ip, addr.port()))
}

/// Starts a node: prepares the data directory, loads or creates the identity key, binds the
/// HTTP and QUIC listeners, opens (and migrates) the database and checks it belongs to this
/// node, then serves in background tasks.
pub async fn start(config: Config) -> Result<RunningNode, NodeError> {
    // Before any socket is opened: each connection needs a descriptor.
    let open_files = connections::raise_open_file_limit();
    let mut limits = config.connections.clone();
    limits.max_connections = connections::connection_cap(limits.max_connections, open_files);
    if limits.max_connections < config.connections.max_connections {
        tracing::warn!(
            configured = config.connections.max_connections,
            allowed = limits.max_connections,
            "max_connections lowered to fit the open-file limit"
        );
    }
    identity::prepare_data_dir(&config.data_dir)?;
    // Held by the serving task until it ends: no second node, no key rotation meanwhile.
    let data_lock = DataDirLock::acquire(&config.data_dir)?;
    let identity = NodeIdentity::load_or_create(&config.data_dir)?;
    if config.name_is_unspecified_address() {
        tracing::warn!(
            name = %config.name,
            "the node name is an unspecified address that no other node can reach; set `name`"
        );
    }

    // Listeners before the database: a taken port is found at once, before migrations run.
    let http_listener = TcpListener::bind(config.http)
        .await
        .map_err(|source| NodeError::Bind {
            listener: Listener::Http,
            addr: config.http,
            source,
        })?;
    let http_addr = http_listener
        .local_addr()
        .map_err(|source| NodeError::Bind {
            listener: Listener::Http,
            addr: config.http,
            source,
        })?;
    let optional = listeners::Optional::bind(&config).await?;
    check_discovery(&config).await?;
    let quic = endpoint::bind(
        config.quic,
        &identity,
        &config.name,
        config.federation.max_streams_per_peer,
    )?;
    let quic_addr = quic.local_addr().map_err(|source| NodeError::Bind {
        listener: Listener::Quic,
        addr: config.quic,
        source,
    })?;

    let db = storage::open(&config.database_url, &config.data_dir).await?;
    if let Err(e) = identity.check_database(&db, &config.name).await {
        db.close().await;
        return Err(e);
    }

    let auth = match crate::auth::Auth::new(
        db.clone(),
        config.name.clone(),
        &config.data_dir,
        config.auth.clone(),
    ) {
        Ok(auth) => auth,
        Err(e) => {
            db.close().await;
            return Err(e.into());
        }
    };
    let gateway = crate::api::ws::Gateway::new(config.gateway.clone());
    gateway.watch_revocations(auth.subscribe_revocations());
    let media = match crate::media::Media::local(
        db.clone(),
        config.name.clone(),
        &config.data_dir,
        &identity.signing_key().to_bytes(),
        config.media.clone(),
    ) {
        Ok(media) => media,
        Err(source) => {
            db.close().await;
            return Err(NodeError::DataDir {
                path: config.data_dir.join(crate::media::MEDIA_DIR),
                source,
            });
        }
    };
    let chats = crate::chat::Chats::with_media(
        db.clone(),
        config.name.clone(),
        identity.signing_key().clone(),
        Arc::new(gateway.hub().clone()),
        media.clone(),
    );
    let peers = match PeerDirectory::new(config.name.clone(), &config.federation) {
        Ok(peers) => Arc::new(peers),
        Err(e) => {
            db.close().await;
            return Err(NodeError::Internal(e.to_string()));
        }
    };
    let links = Arc::new(Links::new(
        config.name.clone(),
        identity.clone(),
        quic.clone(),
        peers.clone(),
        config.federation.request_timeout,
    ));
    let (shutdown, shutdown_rx) = watch::channel(false);
    let senders = crate::federation::outbox::Senders::start(
        db.clone(),
        links.clone(),
        shutdown_rx.clone(),
        crate::federation::clock::now,
    );
    let (wake, contacted) = (senders.clone(), senders);
    media.attach_client(links.clone());
    chats.attach_federation(crate::chat::remote::Federation {
        client: links.clone(),
        wake: Arc::new(move |node| wake.wake(node)),
        contacted: Arc::new(move |node| contacted.contacted(node)),
    });
    let handler = federation_handler(&chats);
    let chats_handle = chats.clone();
    let incoming = Arc::new(
        Incoming::new(config.name.clone(), peers.clone(), handler)
            .with_request_memory(config.federation.max_request_memory),
    );
    let admin =
        match crate::admin::for_node(&config, &db, &auth, &chats, peers.clone(), http_addr).await {
            Ok(admin) => admin,
            Err(e) => {
                db.close().await;
                return Err(e);
            }
        };
    let federation = Federation::new(peers, links, incoming);
    greet_peers(&chats, &federation);
    let published_quic = if config.federation.public_quic.is_empty() {
        vec![quic_addr.to_string()]
    } else {
        config
            .federation
            .public_quic
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    let state = AppState {
        db: db.clone(),
        node: Arc::new(NodeDocument {
            name: config.name.clone(),
            protocol_version: winichat_protocol::PROTOCOL_VERSION,
            public_key: identity.public_key_base64url(),
            quic: quic_addr,
        }),
        node_document: Arc::new(
            DocumentSigner::new(
                config.name.clone(),
                identity.signing_key().clone(),
                published_quic,
            )
            .with_rotations(identity.rotations().to_vec()),
        ),
        web: http::web::WebDir::new(config.web_dir.clone()),
        gateway,
        chats,
        auth,
        media: media.clone(),
    };
    let hub = gateway_hub(&state);
    let readiness = crate::telemetry::Readiness::new(db.clone());
    let (metrics_addr, redirect_addr) = (optional.metrics_addr(), optional.redirect_addr());
    let metrics = optional
        .metrics
        .is_some()
        .then(|| crate::telemetry::Sources {
            handle: crate::telemetry::install(),
            db: db.clone(),
            hub: hub.clone(),
        });
    let serving = serve(
        Http {
            listener: http_listener,
            limits,
            optional,
            metrics,
            readiness: readiness.clone(),
        },
        quic,
        federation.incoming().clone(),
        state,
        crate::admin::http::router(admin),
        shutdown_rx,
    );
    let data_dir = config.data_dir.clone();
    let task = tokio::spawn(async move {
        let result = serving.await;
        crate::admin::operator::remove(&data_dir);
        drop(data_lock);
        result
    });
    // Every listener is bound and its task spawned: connections wait in the backlog at worst.
    readiness.set_serving(true);

    tracing::info!(
        name = %config.name,
        http = %http_addr,
        https = config.listeners.tls.is_some(),
        quic = %quic_addr,
        metrics = ?metrics_addr,
        public_key = %identity.public_key_base64url(),
        "node started"
    );
    Ok(RunningNode {
        http_addr,
        quic_addr,
        metrics_addr,
        redirect_addr,
        node_name: config.name,
        public_key: identity.public_key(),
        media,
        hub,
        federation,
        chats: chats_handle,
        shutdown,
        task,
    })
}

/// The one place that decides who answers federation requests: the chat service.
fn federation_handler(chats: &crate::chat::Chats) -> Arc<dyn FedHandler> {
    Arc::new(crate::chat::peers::PeerService::new(chats.clone()))
}

/// Says `hello` to every pinned peer and every home of a group replicated here, once, in the
/// background: a node coming back tells its peers so, and they send what waited for it at
/// once instead of at the end of their backoff. Each home that answers is then asked for the
/// `state` of the replicas it homes, and those behind are backfilled.
fn greet_peers(chats: &crate::chat::Chats, federation: &Federation) {
    let chats = chats.clone();
    let client = federation.client();
    let mut peers: Vec<winichat_protocol::ids::NodeName> = federation
        .peers()
        .pinned()
        .into_iter()
        .map(|p| p.name)
        .collect();
    tokio::spawn(async move {
        let homes = match chats.replicated_homes().await {
            Ok(homes) => homes,
            Err(e) => {
                tracing::debug!(error = %e, "federation: cannot list the homes of replicas");
                Vec::new()
            }
        };
        peers.extend(homes.iter().cloned());
        peers.sort();
        peers.dedup();
        let hello = crate::federation::hello::hello_params();
        for peer in peers {
            if let Err(e) = client
                .request(
                    &peer,
                    winichat_protocol::federation::methods::method::HELLO,
                    hello.clone(),
                )
                .await
            {
                tracing::debug!(%peer, error = %e, "federation: hello at start-up not answered");
                continue;
            }
            if homes.contains(&peer)
                && let Err(e) = chats.check_replicas_of(&peer).await
            {
                tracing::debug!(%peer, error = %e, "federation: replicas not checked at start-up");
            }
        }
    });
}

/// Plain-HTTP discovery is for closed set-ups (tests, private networks): refuse to start
/// with it when the node's own name resolves to a public address.
async fn check_discovery(config: &Config) -> Result<(), NodeError> {
    if config.federation.discovery != Discovery::Http {
        return Ok(());
    }
    let refuse = |reason: String| {
        NodeError::Config(crate::config::ConfigError::Value {
            origin: crate::config::Origin::Derived("federation.discovery = \"http\""),
            value: config.name.to_string(),
            reason,
        })
    };
    match crate::federation::peers::addresses_of(&config.name).await {
        Ok(ips) => match ips
            .into_iter()
            .find(|ip| !crate::federation::peers::is_private(*ip))
        {
            Some(ip) => Err(refuse(format!(
                "the node name resolves to the public address {ip}; use \"https\" discovery"
            ))),
            None => Ok(()),
        },
        Err(e) => {
            tracing::warn!(name = %config.name, error = %e, "cannot resolve the node name");
            Ok(())
        }
    }
}

fn gateway_hub(state: &AppState) -> crate::api::ws::Hub {
    state.gateway.hub().clone()
}

/// Resolves when shutdown is requested, or when the [`RunningNode`] is dropped.
async fn requested(mut rx: watch::Receiver<bool>) {
    // An error means the sender (the RunningNode) is gone: nobody can ask any more, so stop.
    let _ = rx.wait_for(|&stop| stop).await;
}

/// The HTTP side of a node: the main listener and its limits, the optional listeners, and
/// the metrics' sources when they are served.
struct Http {
    listener: TcpListener,
    limits: ConnectionSettings,
    optional: listeners::Optional,
    metrics: Option<crate::telemetry::Sources>,
    readiness: crate::telemetry::Readiness,
}

/// Serves until shutdown is requested, then stops in order: HTTP stops accepting and drains,
/// QUIC closes, and the database closes last because requests still draining may need it.
async fn serve(
    http: Http,
    quic: Endpoint,
    incoming: Arc<Incoming>,
    state: AppState,
    admin: axum::Router,
    shutdown: watch::Receiver<bool>,
) -> Result<(), NodeError> {
    let accept = tokio::spawn(incoming::accept_loop(quic.clone(), incoming));
    let maintenance = tokio::spawn(state.chats.clone().maintain(shutdown.clone()));
    let media_gc = tokio::spawn(state.media.clone().collect_garbage(shutdown.clone()));
    let relay = tokio::spawn(
        state
            .chats
            .clone()
            .relay(state.gateway.hub().relay_notices(), shutdown.clone()),
    );
    let gateway = state.gateway.clone();
    // Closed last, below: requests still draining may need it.
    let db = state.db.clone();
    let router = http
        .optional
        .main_router(http::app(state).merge(admin), &http.readiness);
    let https_port = http.listener.local_addr().map_or(443, |a| a.port());
    let (tls, optional_tasks) =
        http.optional
            .spawn(https_port, http.metrics, &http.readiness, &shutdown);
    let mut http_server = tokio::spawn(connections::serve(
        http.listener,
        "http",
        router,
        http.limits,
        tls,
        requested(shutdown.clone()),
    ));

    requested(shutdown).await;
    // Load balancers stop sending new traffic first.
    http.readiness.set_serving(false);
    // WebSocket connections are upgraded out of the HTTP server's drain: close them (1001).
    gateway.shutdown();

    // QUIC first: closing it is quick and tells peers at once, while HTTP may take a while.
    endpoint::close(&quic).await;
    if let Err(e) = maintenance.await {
        tracing::warn!(error = %e, "chat maintenance task failed");
    }
    if let Err(e) = media_gc.await {
        tracing::warn!(error = %e, "media clean-up task failed");
    }
    if let Err(e) = relay.await {
        tracing::warn!(error = %e, "presence relay task failed");
    }
    if let Err(e) = accept.await {
        tracing::warn!(error = %e, "QUIC accept task failed");
    }

    for task in optional_tasks {
        if tokio::time::timeout(DRAIN_TIMEOUT, task).await.is_err() {
            tracing::warn!("an optional listener did not stop in time");
        }
    }
    match tokio::time::timeout(DRAIN_TIMEOUT, &mut http_server).await {
        Ok(Ok(())) => tracing::debug!("HTTP drained"),
        Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server task failed"),
        Err(_) => {
            tracing::warn!("HTTP requests still running after {DRAIN_TIMEOUT:?}; not waiting");
            http_server.abort();
        }
    }

    db.close().await;
    tracing::info!("node stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_names_an_address_a_local_browser_can_open() {
        let url = |a: &str| browser_url(a.parse().expect("addr"), false);
        assert_eq!(url("127.0.0.1:7800"), "http://127.0.0.1:7800/");
        assert_eq!(url("0.0.0.0:7800"), "http://127.0.0.1:7800/");
        assert_eq!(url("[::]:7800"), "http://[::1]:7800/");
        assert_eq!(url("192.0.2.4:80"), "http://192.0.2.4:80/");
        let tls = browser_url("0.0.0.0:443".parse().expect("addr"), true);
        assert_eq!(tls, "https://127.0.0.1:443/");
    }

    fn config(name: &str, discovery: Discovery) -> Config {
        let mut config = Config::defaults().expect("defaults");
        config.name = name.parse().expect("name");
        config.federation.discovery = discovery;
        config
    }

    #[tokio::test]
    async fn http_discovery_is_refused_for_a_public_name() {
        let err = check_discovery(&config("203.0.113.7:7800", Discovery::Http))
            .await
            .expect_err("public");
        assert!(
            err.to_string().contains("public address 203.0.113.7"),
            "{err}"
        );
        assert_eq!(err.exit_code(), 2, "a configuration mistake");
        for name in ["127.0.0.1:7800", "10.0.0.7", "[::1]:7800"] {
            check_discovery(&config(name, Discovery::Http))
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        check_discovery(&config("203.0.113.7:7800", Discovery::Https))
            .await
            .expect("https is fine anywhere");
    }
}
