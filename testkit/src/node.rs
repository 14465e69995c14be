//! [`TestNode`]: a real node, started in-process on free ports with a temporary data directory.
//!
//! ```no_run
//! # async fn demo() {
//! use winichat_testkit::node::{Backend, TestNode};
//! let node = TestNode::start(Backend::Sqlite).await;
//! println!("{}/healthz", node.http_url());
//! node.shutdown().await;
//! # }
//! ```
//!
//! A node that must come back on the same data, name and ports runs in a [`NodeHome`]:
//!
//! ```no_run
//! # async fn demo() {
//! use winichat_testkit::node::{Backend, NodeHome, TestNode};
//! let node = TestNode::start_in(NodeHome::new(Backend::Postgres).await, |_| {}).await;
//! let home = node.stop().await;
//! let again = TestNode::start_in(home, |_| {}).await;
//! again.shutdown().await;
//! # }
//! ```

use std::net::SocketAddr;
use std::path::Path;

use tempfile::TempDir;
use winichat_node::config::{Config, LogFormat};
use winichat_node::error::NodeError;
use winichat_node::identity::NodeIdentity;
use winichat_node::server::{self, RunningNode};
use winichat_protocol::ed25519_dalek::VerifyingKey;
use winichat_protocol::ids::NodeName;

use crate::postgres::TestDatabase;

/// Which database a [`TestNode`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in the node's temporary data directory.
    Sqlite,
    /// A fresh PostgreSQL database (see [`TestDatabase`]), dropped with the node.
    Postgres,
}

/// What a node keeps between runs: its data directory (identity key, SQLite database, media),
/// its PostgreSQL database when it has one, its name and its ports. A [`TestNode`] started
/// with [`TestNode::start_in`] runs in a home and [`TestNode::stop`] hands it back, so the
/// same node can be started again on the same data, under the same name, on the same ports.
/// Dropping the home removes the directory and the database.
#[derive(Debug)]
pub struct NodeHome {
    name: NodeName,
    http: SocketAddr,
    quic: SocketAddr,
    backend: Backend,
    database: Option<TestDatabase>,
    data_dir: TempDir,
}

impl NodeHome {
    /// A new, empty home: a temporary data directory, a fresh database for
    /// [`Backend::Postgres`], a name `node-<random>.test`, and port 0 for HTTP and QUIC on
    /// 127.0.0.1 (the first start picks free ports and the home remembers them).
    ///
    /// # Panics
    /// If the directory or the database cannot be created.
    pub async fn new(backend: Backend) -> NodeHome {
        let data_dir = tempfile::tempdir().expect("create a temporary data directory");
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::create().await),
        };
        NodeHome {
            name: unique_name(),
            http: SocketAddr::from(([127, 0, 0, 1], 0)),
            quic: SocketAddr::from(([127, 0, 0, 1], 0)),
            backend,
            database,
            data_dir,
        }
    }

    /// The same home under another node name (before its first start: a database answers
    /// only to the name that created it).
    pub fn with_name(mut self, name: NodeName) -> NodeHome {
        self.name = name;
        self
    }

    /// The same home with a chosen QUIC address (e.g. a port reserved with
    /// [`reserve_udp_port`] so peers can be pinned to it before the node starts).
    pub fn with_quic(mut self, quic: SocketAddr) -> NodeHome {
        self.quic = quic;
        self
    }

    /// The same home with a chosen HTTP address.
    pub fn with_http(mut self, http: SocketAddr) -> NodeHome {
        self.http = http;
        self
    }

    /// Creates the identity key in the data directory if there is none yet, and returns its
    /// public key: peers can be pinned to a node before it first starts.
    ///
    /// # Panics
    /// If the key cannot be created or read.
    pub fn identity_key(&self) -> VerifyingKey {
        NodeIdentity::load_or_create(self.data_dir.path())
            .unwrap_or_else(|e| panic!("identity key in {}: {e}", self.data_dir.path().display()))
            .public_key()
    }

    /// The node's name.
    pub fn name(&self) -> &NodeName {
        &self.name
    }

    /// The HTTP address the node binds (port 0 before its first start).
    pub fn http(&self) -> SocketAddr {
        self.http
    }

    /// The QUIC address the node binds (port 0 before its first start unless chosen).
    pub fn quic(&self) -> SocketAddr {
        self.quic
    }

    /// The database backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// The PostgreSQL database URL, for a home on [`Backend::Postgres`].
    pub fn database_url(&self) -> Option<&str> {
        self.database.as_ref().map(TestDatabase::url)
    }

    /// The configuration a test node in this home starts from (before `configure`).
    fn config(&self) -> Config {
        Config {
            name: self.name.clone(),
            data_dir: self.data_dir.path().to_path_buf(),
            http: self.http,
            quic: self.quic,
            database_url: self
                .database
                .as_ref()
                .map_or_else(|| "sqlite".to_owned(), |db| db.url().to_owned()),
            log_format: LogFormat::Text,
            name_defaulted: false,
            web_dir: None,
            gateway: Default::default(),
            auth: winichat_node::auth::AuthSettings {
                // Every test client comes from 127.0.0.1, and suites register many users;
                // the per-IP limit is tested with its own, low setting.
                registrations_per_ip_per_hour:
                    winichat_node::config::MAX_REGISTRATIONS_PER_IP_PER_HOUR,
                ..Default::default()
            },
            media: Default::default(),
            connections: Default::default(),
            federation: Default::default(),
            listeners: Default::default(),
        }
    }
}

/// Reserves a free UDP port on 127.0.0.1 by binding it and letting it go again, so a node's
/// QUIC address can be known (and pinned by its peers) before it starts. Another process could
/// take the port in between; on a test machine that race is rare enough to accept.
///
/// # Panics
/// If no UDP socket can be bound.
pub fn reserve_udp_port() -> SocketAddr {
    let socket = std::net::UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .unwrap_or_else(|e| panic!("bind a UDP socket on 127.0.0.1: {e}"));
    socket
        .local_addr()
        .unwrap_or_else(|e| panic!("local address of a UDP socket: {e}"))
}

/// A running node for tests. Dropping it shuts the node down in the background and removes
/// its data directory and database; [`TestNode::shutdown`] does the same and waits, and
/// [`TestNode::stop`] stops it but keeps its [`NodeHome`].
#[derive(Debug)]
pub struct TestNode {
    // Field order is drop order: the node stops before its database and directory go.
    node: RunningNode,
    http_url: String,
    home: NodeHome,
}

impl TestNode {
    /// Starts a node on 127.0.0.1 with port 0 for HTTP and QUIC, named `node-<random>.test`
    /// so that nodes of one test never share a name.
    ///
    /// # Panics
    /// If the node does not start (a test harness that cannot do its job must fail loudly).
    pub async fn start(backend: Backend) -> TestNode {
        TestNode::start_with(backend, |_| {}).await
    }

    /// [`TestNode::start`], with `configure` changing the configuration first (short timeouts,
    /// small limits).
    ///
    /// # Panics
    /// If the node does not start.
    pub async fn start_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestNode {
        TestNode::start_in(NodeHome::new(backend).await, configure).await
    }

    /// Starts a node in `home`: its data directory and database, under its name, on its
    /// addresses; `configure` changes the configuration first (it should leave the name, data
    /// directory and database alone). The home then records the ports actually bound, so a
    /// node [stopped](TestNode::stop) and started again in the same home keeps them.
    ///
    /// # Panics
    /// If the node does not start.
    pub async fn start_in(home: NodeHome, configure: impl FnOnce(&mut Config)) -> TestNode {
        match TestNode::try_start_in(home, configure).await {
            Ok(node) => node,
            Err((e, _)) => panic!("test node failed to start: {e}"),
        }
    }

    /// [`TestNode::start_in`], handing the home back with the error when the node does not
    /// start (e.g. its port is still taken, so a caller can wait and try again).
    pub async fn try_start_in(
        mut home: NodeHome,
        configure: impl FnOnce(&mut Config),
    ) -> Result<TestNode, (NodeError, NodeHome)> {
        // One crypto provider for the process; "already installed" is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut config = home.config();
        configure(&mut config);
        let node = match server::start(config).await {
            Ok(node) => node,
            Err(e) => return Err((e, home)),
        };
        home.name = node.node_name.clone();
        home.http = node.http_addr;
        home.quic = node.quic_addr;
        let http_url = format!("http://{}", node.http_addr);
        Ok(TestNode {
            node,
            http_url,
            home,
        })
    }

    /// The base URL of the HTTP listener, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn http_url(&self) -> &str {
        &self.http_url
    }

    /// The gateway's hub (its memory figures).
    pub fn hub(&self) -> &winichat_node::api::ws::Hub {
        &self.node.hub
    }

    /// The bound HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.node.http_addr
    }

    /// The bound QUIC address.
    pub fn quic_addr(&self) -> SocketAddr {
        self.node.quic_addr
    }

    /// The node's name.
    pub fn name(&self) -> &NodeName {
        &self.node.node_name
    }

    /// The node's identity public key.
    pub fn public_key(&self) -> VerifyingKey {
        self.node.public_key
    }

    /// The node's federation: pin peers, set allow and deny lists, send requests.
    pub fn federation(&self) -> &winichat_node::federation::Federation {
        self.node.federation()
    }

    /// The node's data directory (removed when the `TestNode` is dropped).
    pub fn data_dir(&self) -> &Path {
        self.home.data_dir()
    }

    /// The node's home (data directory, database, name, ports).
    pub fn home(&self) -> &NodeHome {
        &self.home
    }

    /// The node's media service (to drive its clean-up with a chosen clock).
    pub fn media(&self) -> &winichat_node::media::Media {
        &self.node.media
    }

    /// The running node itself (for what the accessors above do not cover).
    pub fn running(&self) -> &RunningNode {
        &self.node
    }

    /// The PostgreSQL database URL, for a node on [`Backend::Postgres`].
    pub fn database_url(&self) -> Option<&str> {
        self.home.database_url()
    }

    /// Stops the node gracefully and waits for it, keeping its data: the returned home starts
    /// it again with [`TestNode::start_in`].
    ///
    /// # Panics
    /// If the node reports an error while stopping.
    pub async fn stop(self) -> NodeHome {
        let TestNode {
            node,
            http_url: _,
            home,
        } = self;
        node.shutdown()
            .await
            .unwrap_or_else(|e| panic!("test node failed to stop: {e}"));
        home
    }

    /// Stops the node gracefully and waits for it; then removes its data.
    ///
    /// # Panics
    /// If the node reports an error while stopping.
    pub async fn shutdown(self) {
        drop(self.stop().await);
    }
}

fn unique_name() -> NodeName {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).expect("randomness for a node name");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("node-{hex}.test")
        .parse()
        .expect("a generated node name is valid")
}
