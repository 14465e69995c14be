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

use std::net::SocketAddr;
use std::path::Path;

use tempfile::TempDir;
use winichat_node::config::{Config, LogFormat};
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

/// A running node for tests. Dropping it shuts the node down in the background and removes
/// its data directory and database; [`TestNode::shutdown`] does the same and waits.
#[derive(Debug)]
pub struct TestNode {
    // Field order is drop order: the node stops before its database and directory go.
    node: RunningNode,
    http_url: String,
    database: Option<TestDatabase>,
    data_dir: TempDir,
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
        // One crypto provider for the process; "already installed" is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let data_dir = tempfile::tempdir().expect("create a temporary data directory");
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::create().await),
        };
        let mut config = Config {
            name: unique_name(),
            data_dir: data_dir.path().to_path_buf(),
            http: SocketAddr::from(([127, 0, 0, 1], 0)),
            quic: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: database
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
        };
        configure(&mut config);
        let node = server::start(config)
            .await
            .unwrap_or_else(|e| panic!("test node failed to start: {e}"));
        let http_url = format!("http://{}", node.http_addr);
        TestNode {
            node,
            http_url,
            database,
            data_dir,
        }
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
        self.data_dir.path()
    }

    /// The node's media service (to drive its clean-up with a chosen clock).
    pub fn media(&self) -> &winichat_node::media::Media {
        &self.node.media
    }

    /// The PostgreSQL database URL, for a node on [`Backend::Postgres`].
    pub fn database_url(&self) -> Option<&str> {
        self.database.as_ref().map(TestDatabase::url)
    }

    /// Stops the node gracefully and waits for it; then removes its data.
    ///
    /// # Panics
    /// If the node reports an error while stopping.
    pub async fn shutdown(self) {
        let TestNode {
            node,
            http_url: _,
            database,
            data_dir,
        } = self;
        node.shutdown()
            .await
            .unwrap_or_else(|e| panic!("test node failed to stop: {e}"));
        drop(database);
        drop(data_dir);
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
