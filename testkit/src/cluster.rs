//! [`Cluster`]: two or three real nodes federating with each other over loopback QUIC, each on
//! its own database, all pinned to each other (`federation.discovery = "pinned"`), optionally
//! through fault-injecting [`UdpRelay`]s.
//!
//! ```no_run
//! # async fn demo() {
//! use winichat_testkit::cluster::{Cluster, ClusterSpec};
//! use winichat_testkit::node::Backend;
//! let mut cluster = Cluster::start(
//!     ClusterSpec::new([Backend::Sqlite, Backend::Postgres]).relay(0, 1),
//! )
//! .await;
//! cluster.relay(0, 1).expect("relayed link").cut();
//! cluster.stop(1).await;
//! cluster.restart(1).await;
//! println!("{}", cluster.node(1).http_url());
//! cluster.shutdown().await;
//! # }
//! ```
//!
//! Peers are pinned in each node's configuration before it starts: every node's identity key
//! is created in its data directory and its QUIC port reserved up front, so every node knows
//! every other's name, key and address from its first moment. A restarted node comes back on
//! the same data, name, key, ports and pinned peers.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use winichat_node::config::Config;
use winichat_node::error::NodeError;
use winichat_node::federation::{Discovery, PinnedPeer};
use winichat_protocol::ids::NodeName;

use crate::node::{Backend, NodeHome, TestNode, reserve_udp_port};
use crate::relay::UdpRelay;

/// How long [`Cluster::restart`] keeps retrying while the node's old ports are still taken.
pub const RESTART_PATIENCE: Duration = Duration::from_secs(10);
/// The pause between two such tries.
const RESTART_RETRY: Duration = Duration::from_millis(100);

/// A change to a node's configuration, applied at every start of that node.
pub type Configure = Arc<dyn Fn(&mut Config) + Send + Sync>;

/// What [`Cluster::start`] builds: the nodes' backends, which links go through relays, and
/// configuration changes.
#[derive(Clone)]
pub struct ClusterSpec {
    backends: Vec<Backend>,
    relayed: Vec<(usize, usize)>,
    every_node: Vec<Configure>,
    per_node: Vec<(usize, Configure)>,
}

impl fmt::Debug for ClusterSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterSpec")
            .field("backends", &self.backends)
            .field("relayed", &self.relayed)
            .field("every_node", &self.every_node.len())
            .field("per_node", &self.per_node.len())
            .finish()
    }
}

impl ClusterSpec {
    /// One node per backend, node `i` on `backends[i]`, every link direct.
    pub fn new(backends: impl IntoIterator<Item = Backend>) -> ClusterSpec {
        ClusterSpec {
            backends: backends.into_iter().collect(),
            relayed: Vec::new(),
            every_node: Vec::new(),
            per_node: Vec::new(),
        }
    }

    /// Routes the link between nodes `a` and `b` through two relays: `a` reaches `b` through
    /// [`Cluster::relay`]`(a, b)` and `b` reaches `a` through [`Cluster::relay`]`(b, a)`.
    ///
    /// # Panics
    /// If `a == b`.
    pub fn relay(mut self, a: usize, b: usize) -> ClusterSpec {
        assert_ne!(a, b, "a relay links two different nodes");
        self.relayed.push((a, b));
        self
    }

    /// Changes every node's configuration (after the federation settings are filled in, so a
    /// test can still change them), at every start.
    pub fn configure(mut self, configure: impl Fn(&mut Config) + Send + Sync + 'static) -> Self {
        self.every_node.push(Arc::new(configure));
        self
    }

    /// Changes node `i`'s configuration, after [`ClusterSpec::configure`]'s changes.
    pub fn configure_node(
        mut self,
        i: usize,
        configure: impl Fn(&mut Config) + Send + Sync + 'static,
    ) -> Self {
        self.per_node.push((i, Arc::new(configure)));
        self
    }

    fn is_relayed(&self, a: usize, b: usize) -> bool {
        self.relayed
            .iter()
            .any(|&(x, y)| (x, y) == (a, b) || (x, y) == (b, a))
    }
}

/// One node of the cluster, running or stopped.
#[derive(Debug)]
enum Slot {
    Running(Box<TestNode>),
    Stopped(NodeHome),
    /// Only while a node is being stopped or started.
    Moving,
}

/// Two or three running nodes pinned to each other. Dropping it stops every node and relay in
/// the background and removes their data; [`Cluster::shutdown`] does the same and waits.
pub struct Cluster {
    slots: Vec<Slot>,
    /// What node `i` pins: every other node, through a relay where the spec says so.
    pinned: Vec<Vec<PinnedPeer>>,
    /// Each node's own entry (its direct QUIC address), as another node would pin it.
    direct: Vec<PinnedPeer>,
    /// `(from, to)` → the relay `from` dials to reach `to`.
    relays: HashMap<(usize, usize), UdpRelay>,
    configure: Vec<Vec<Configure>>,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("slots", &self.slots)
            .field("pinned", &self.pinned)
            .field("relays", &self.relays)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Creates every node's home (data directory, database, identity key, reserved QUIC port),
    /// starts the relays, then starts every node pinned to all the others.
    ///
    /// # Panics
    /// If the spec names a node that does not exist, or a node does not start.
    pub async fn start(spec: ClusterSpec) -> Cluster {
        let count = spec.backends.len();
        for &(a, b) in &spec.relayed {
            assert!(
                a < count && b < count,
                "relay {a}↔{b}: the cluster has {count} nodes"
            );
        }
        for (i, _) in &spec.per_node {
            assert!(
                *i < count,
                "configure_node({i}): the cluster has {count} nodes"
            );
        }

        let homes = join_all(spec.backends.iter().map(|&backend| async move {
            NodeHome::new(backend).await.with_quic(reserve_udp_port())
        }))
        .await;
        let direct: Vec<PinnedPeer> = homes
            .iter()
            .map(|home| PinnedPeer {
                name: home.name().clone(),
                quic: home.quic(),
                key: home.identity_key().to_bytes(),
            })
            .collect();

        let mut relays = HashMap::new();
        for a in 0..count {
            for (b, to) in direct.iter().enumerate() {
                if a != b && spec.is_relayed(a, b) {
                    relays.insert((a, b), UdpRelay::start(to.quic).await);
                }
            }
        }
        let pinned: Vec<Vec<PinnedPeer>> = (0..count)
            .map(|i| {
                (0..count)
                    .filter(|&j| j != i)
                    .map(|j| PinnedPeer {
                        quic: relays.get(&(i, j)).map_or(direct[j].quic, UdpRelay::addr),
                        ..direct[j].clone()
                    })
                    .collect()
            })
            .collect();
        let configure: Vec<Vec<Configure>> = (0..count)
            .map(|i| {
                let mut changes = spec.every_node.clone();
                changes.extend(
                    spec.per_node
                        .iter()
                        .filter(|(j, _)| *j == i)
                        .map(|(_, c)| c.clone()),
                );
                changes
            })
            .collect();

        let nodes = join_all(homes.into_iter().enumerate().map(|(i, home)| {
            let peers = pinned[i].clone();
            let changes = configure[i].clone();
            async move {
                match start_node(home, peers, changes).await {
                    Ok(node) => node,
                    Err((e, _)) => panic!("cluster node {i} failed to start: {e}"),
                }
            }
        }))
        .await;
        Cluster {
            slots: nodes
                .into_iter()
                .map(|n| Slot::Running(Box::new(n)))
                .collect(),
            pinned,
            direct,
            relays,
            configure,
        }
    }

    /// How many nodes the cluster has (running or stopped).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True for a cluster without nodes.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Node `i`.
    ///
    /// # Panics
    /// If it is stopped or does not exist.
    pub fn node(&self, i: usize) -> &TestNode {
        self.try_node(i)
            .unwrap_or_else(|| panic!("cluster node {i} is not running"))
    }

    /// Node `i`, when it is running.
    pub fn try_node(&self, i: usize) -> Option<&TestNode> {
        match self.slots.get(i) {
            Some(Slot::Running(node)) => Some(node.as_ref()),
            _ => None,
        }
    }

    /// Whether node `i` is running.
    pub fn is_running(&self, i: usize) -> bool {
        self.try_node(i).is_some()
    }

    /// Node `i`'s name (running or not).
    pub fn name(&self, i: usize) -> &NodeName {
        &self.direct[i].name
    }

    /// Node `i`'s own peer entry: name, key and its direct QUIC address.
    pub fn peer(&self, i: usize) -> &PinnedPeer {
        &self.direct[i]
    }

    /// What node `i` is pinned to: every other node, with the relay's address on a relayed
    /// link.
    pub fn pinned(&self, i: usize) -> &[PinnedPeer] {
        &self.pinned[i]
    }

    /// The relay node `from` dials to reach node `to`, when their link is relayed.
    pub fn relay(&self, from: usize, to: usize) -> Option<&UdpRelay> {
        self.relays.get(&(from, to))
    }

    /// Both relays of the link between `a` and `b` (`a`'s towards `b` first), when it is
    /// relayed: to disturb both directions alike.
    pub fn link(&self, a: usize, b: usize) -> Option<[&UdpRelay; 2]> {
        Some([self.relay(a, b)?, self.relay(b, a)?])
    }

    /// Cuts the link between `a` and `b` in both directions (a partition).
    ///
    /// # Panics
    /// If the link is not relayed.
    pub fn cut_link(&self, a: usize, b: usize) {
        self.relayed_link(a, b).into_iter().for_each(UdpRelay::cut);
    }

    /// Heals a [`Cluster::cut_link`].
    ///
    /// # Panics
    /// If the link is not relayed.
    pub fn heal_link(&self, a: usize, b: usize) {
        self.relayed_link(a, b).into_iter().for_each(UdpRelay::heal);
    }

    fn relayed_link(&self, a: usize, b: usize) -> [&UdpRelay; 2] {
        self.link(a, b).unwrap_or_else(|| {
            panic!("the link {a}↔{b} is not relayed (ClusterSpec::relay({a}, {b}))")
        })
    }

    /// Stops node `i` gracefully, keeping its data. Nothing happens if it is stopped already.
    ///
    /// # Panics
    /// If the node reports an error while stopping.
    pub async fn stop(&mut self, i: usize) {
        match std::mem::replace(&mut self.slots[i], Slot::Moving) {
            Slot::Running(node) => self.slots[i] = Slot::Stopped(node.stop().await),
            Slot::Moving => panic!("cluster node {i} was lost by an earlier failed start"),
            stopped @ Slot::Stopped(_) => self.slots[i] = stopped,
        }
    }

    /// Starts node `i` again on the same data, name, key, ports and pinned peers (stopping it
    /// first if it runs). While the old ports are still held by the system it retries for up
    /// to [`RESTART_PATIENCE`].
    ///
    /// # Panics
    /// If the node does not start.
    pub async fn restart(&mut self, i: usize) {
        self.stop(i).await;
        let Slot::Stopped(mut home) = std::mem::replace(&mut self.slots[i], Slot::Moving) else {
            unreachable!("stop leaves the node stopped");
        };
        let deadline = tokio::time::Instant::now() + RESTART_PATIENCE;
        loop {
            match start_node(home, self.pinned[i].clone(), self.configure[i].clone()).await {
                Ok(node) => {
                    self.slots[i] = Slot::Running(Box::new(node));
                    return;
                }
                Err((NodeError::Bind { .. }, back)) if tokio::time::Instant::now() < deadline => {
                    home = back;
                    tokio::time::sleep(RESTART_RETRY).await;
                }
                Err((e, back)) => {
                    self.slots[i] = Slot::Stopped(back);
                    panic!("cluster node {i} failed to restart: {e}");
                }
            }
        }
    }

    /// Stops every node (gracefully, all at once) and every relay, and removes their data.
    ///
    /// # Panics
    /// If a node reports an error while stopping.
    pub async fn shutdown(self) {
        let Cluster { slots, relays, .. } = self;
        join_all(slots.into_iter().map(|slot| async move {
            if let Slot::Running(node) = slot {
                node.shutdown().await;
            }
        }))
        .await;
        join_all(relays.into_values().map(UdpRelay::shutdown)).await;
    }
}

/// Starts `home` pinned to `peers`, then applies `changes`.
async fn start_node(
    home: NodeHome,
    peers: Vec<PinnedPeer>,
    changes: Vec<Configure>,
) -> Result<TestNode, (NodeError, NodeHome)> {
    TestNode::try_start_in(home, move |config| {
        config.federation.discovery = Discovery::Pinned;
        config.federation.peers = peers;
        for change in &changes {
            change(config);
        }
    })
    .await
}
