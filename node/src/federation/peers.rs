//! The peer directory: which key and addresses a node name stands for, and whether we
//! federate with it at all.
//!
//! Pinned peers (configuration or [`PeerDirectory::pin`]) win; otherwise, with discovery on,
//! the node document is fetched from `http(s)://NAME/.well-known/winichat/node`, verified and
//! cached until its `valid_until`. A cached key is remembered after expiry so that a later
//! document with another key is accepted only with a rotation signed by the cached one.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use winichat_protocol::Timestamp;
use winichat_protocol::federation::document::{self, DocumentError};
use winichat_protocol::ids::NodeName;
use winichat_protocol::keys::PublicKey;

use super::settings::{Discovery, FederationSettings, PinnedPeer};
use super::{FedError, clock};

/// The most bytes of a node document a fetch reads.
pub const MAX_DOCUMENT_BYTES: usize = document::DOCUMENT_LIMITS.max_frame;
/// The longest a fetched document is trusted, whatever its `valid_until` says.
pub const MAX_CACHE: Duration = Duration::from_secs(24 * 3600);
/// How long a fetch of a node document may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// What a node name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// Its identity key: its TLS certificate must carry it.
    pub key: PublicKey,
    /// Where to dial it, in order of preference.
    pub addrs: Vec<SocketAddr>,
}

/// A document-derived entry of the cache.
#[derive(Debug, Clone)]
struct Discovered {
    info: PeerInfo,
    valid_until: Timestamp,
}

#[derive(Debug, Default)]
struct Lists {
    pinned: HashMap<NodeName, PinnedPeer>,
    allow: HashSet<NodeName>,
    deny: HashSet<NodeName>,
    discovered: HashMap<NodeName, Discovered>,
    /// When a document fetch for a name last failed: no new fetch for it before
    /// [`FETCH_RETRY_MS`] (a connecting stranger's made-up name costs one fetch a minute).
    failed: HashMap<NodeName, Timestamp>,
}

/// A name whose node document could not be fetched is not fetched again for this long.
const FETCH_RETRY_MS: u64 = 60_000;
/// The most names remembered as failed; beyond it the oldest half is forgotten.
const MAX_FAILED_NAMES: usize = 4096;
/// Document fetches running at once, for all names together.
const CONCURRENT_FETCHES: usize = 8;

/// Pinned peers, allow and deny lists, and the discovery cache. Shared (`Arc`) by the
/// outgoing links and the accept loop.
#[derive(Debug)]
pub struct PeerDirectory {
    me: NodeName,
    discovery: Discovery,
    lists: Mutex<Lists>,
    http: Option<reqwest::Client>,
    /// Bounds the document fetches in flight.
    fetches: tokio::sync::Semaphore,
}

/// Why the directory could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The HTTP client for discovery could not be built.
    #[error("cannot build the discovery HTTP client: {0}")]
    Http(String),
}

impl PeerDirectory {
    /// A directory for node `me` with the configured peers and lists.
    pub fn new(me: NodeName, settings: &FederationSettings) -> Result<Self, DirectoryError> {
        let http = match settings.discovery {
            Discovery::Pinned => None,
            Discovery::Http | Discovery::Https => Some(http_client()?),
        };
        let lists = Lists {
            pinned: settings
                .peers
                .iter()
                .map(|p| (p.name.clone(), p.clone()))
                .collect(),
            allow: settings.allow.iter().cloned().collect(),
            deny: settings.deny.iter().cloned().collect(),
            discovered: HashMap::new(),
            failed: HashMap::new(),
        };
        Ok(PeerDirectory {
            me,
            discovery: settings.discovery,
            lists: Mutex::new(lists),
            http,
            fetches: tokio::sync::Semaphore::new(CONCURRENT_FETCHES),
        })
    }

    fn lists(&self) -> MutexGuard<'_, Lists> {
        // The lists stay consistent whatever panicked while holding them (each change is one
        // insert or remove), so a poisoned lock is still usable.
        self.lists.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This node's own name.
    pub fn me(&self) -> &NodeName {
        &self.me
    }

    /// How peers are discovered.
    pub fn discovery(&self) -> Discovery {
        self.discovery
    }

    /// Pins a peer (replacing an earlier pin of the same name).
    pub fn pin(&self, peer: PinnedPeer) {
        let mut lists = self.lists();
        lists.discovered.remove(&peer.name);
        lists.pinned.insert(peer.name.clone(), peer);
    }

    /// Removes a pin; true when there was one.
    pub fn unpin(&self, name: &NodeName) -> bool {
        self.lists().pinned.remove(name).is_some()
    }

    /// The pinned peers.
    pub fn pinned(&self) -> Vec<PinnedPeer> {
        self.lists().pinned.values().cloned().collect()
    }

    /// Replaces the allow list (empty: everyone not denied).
    pub fn set_allow(&self, allow: Vec<NodeName>) {
        self.lists().allow = allow.into_iter().collect();
    }

    /// Replaces the deny list.
    pub fn set_deny(&self, deny: Vec<NodeName>) {
        self.lists().deny = deny.into_iter().collect();
    }

    /// Whether we federate with `name` at all (allow and deny lists; never ourselves).
    pub fn is_allowed(&self, name: &NodeName) -> bool {
        if name == &self.me {
            return false;
        }
        let lists = self.lists();
        !lists.deny.contains(name) && (lists.allow.is_empty() || lists.allow.contains(name))
    }

    /// The key and addresses of `name`: pinned, cached, or (with discovery on) fetched now.
    pub async fn resolve(&self, name: &NodeName) -> Result<PeerInfo, FedError> {
        if !self.is_allowed(name) {
            return Err(FedError::NotAllowed { peer: name.clone() });
        }
        let known_key = {
            let lists = self.lists();
            if let Some(pinned) = lists.pinned.get(name) {
                let key = PublicKey::from_bytes(&pinned.key).map_err(|e| unreachable(name, e))?;
                return Ok(PeerInfo {
                    key,
                    addrs: vec![pinned.quic],
                });
            }
            match lists.discovered.get(name) {
                Some(entry) if entry.valid_until > clock::now() => return Ok(entry.info.clone()),
                Some(entry) => Some(entry.info.key),
                None => None,
            }
        };
        let Some(http) = &self.http else {
            return Err(unreachable(name, "not a pinned peer (discovery is off)"));
        };
        let now = clock::now();
        if let Some(at) = self.lists().failed.get(name)
            && now.millis().saturating_sub(at.millis()) < FETCH_RETRY_MS
        {
            return Err(unreachable(
                name,
                "its node document could not be fetched a moment ago",
            ));
        }
        let fetched = match self.fetches.acquire().await {
            Ok(_permit) => match self.fetch(http, name).await {
                Ok(bytes) => self.accept_document(name, &bytes, known_key, now).await,
                Err(e) => Err(e),
            },
            Err(_) => Err(unreachable(name, "discovery is shut down")),
        };
        let mut lists = self.lists();
        match &fetched {
            Ok(_) => {
                lists.failed.remove(name);
            }
            Err(_) => {
                if lists.failed.len() >= MAX_FAILED_NAMES {
                    let mut times: Vec<u64> = lists.failed.values().map(|t| t.millis()).collect();
                    times.sort_unstable();
                    let cutoff = times[times.len() / 2];
                    lists.failed.retain(|_, t| t.millis() > cutoff);
                }
                lists.failed.insert(name.clone(), now);
            }
        }
        fetched
    }

    /// Forgets what discovery learnt about `name` (its remembered key too).
    pub fn forget(&self, name: &NodeName) {
        self.lists().discovered.remove(name);
    }

    /// Verifies a fetched document for `name`, resolves its addresses and caches it.
    async fn accept_document(
        &self,
        name: &NodeName,
        bytes: &[u8],
        known_key: Option<PublicKey>,
        now: Timestamp,
    ) -> Result<PeerInfo, FedError> {
        let doc = document::verify_document(bytes, name, known_key.as_ref(), now)
            .map_err(|e: DocumentError| unreachable(name, format!("node document: {e}")))?;
        let key = doc.public_key().map_err(|e| unreachable(name, e))?;
        let mut addrs = Vec::new();
        for text in doc.quic.iter().take(8) {
            // Addresses are "host:port"; a host name is looked up here.
            if let Ok(found) = tokio::net::lookup_host(text.as_str()).await {
                addrs.extend(found);
            }
        }
        if addrs.is_empty() {
            return Err(unreachable(
                name,
                "node document lists no usable QUIC address",
            ));
        }
        let info = PeerInfo { key, addrs };
        let cap = now
            .0
            .saturating_add(u64::try_from(MAX_CACHE.as_millis()).unwrap_or(u64::MAX));
        let valid_until = Timestamp(doc.valid_until.0.min(cap));
        self.lists().discovered.insert(
            name.clone(),
            Discovered {
                info: info.clone(),
                valid_until,
            },
        );
        Ok(info)
    }

    /// Fetches the node document of `name` over the configured scheme.
    async fn fetch(&self, http: &reqwest::Client, name: &NodeName) -> Result<Vec<u8>, FedError> {
        let scheme = match self.discovery {
            Discovery::Http => {
                refuse_public(name).await?;
                "http"
            }
            _ => "https",
        };
        let url = format!("{scheme}://{name}/.well-known/winichat/node");
        let mut response = http
            .get(&url)
            .header(reqwest::header::ACCEPT, "application/cose")
            .send()
            .await
            .map_err(|e| unreachable(name, format!("fetching {url}: {e}")))?;
        if !response.status().is_success() {
            return Err(unreachable(
                name,
                format!("fetching {url}: status {}", response.status()),
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unreachable(name, format!("fetching {url}: {e}")))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(unreachable(name, "node document too large"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

fn unreachable(peer: &NodeName, reason: impl std::fmt::Display) -> FedError {
    FedError::Unreachable {
        peer: peer.clone(),
        reason: reason.to_string(),
    }
}

/// The HTTP client for discovery: ring, the webpki roots, no redirects (a document must come
/// from the name itself), bounded time.
fn http_client() -> Result<reqwest::Client, DirectoryError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| DirectoryError::Http(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(FETCH_TIMEOUT)
        .build()
        .map_err(|e| DirectoryError::Http(e.to_string()))
}

/// True for addresses that are not reachable from the public internet.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                // 100.64.0.0/10, carrier-grade NAT.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// The addresses `name` resolves to (an IP literal is itself).
pub async fn addresses_of(name: &NodeName) -> std::io::Result<Vec<IpAddr>> {
    let host = name.host().trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let port = name.port().unwrap_or(80);
    Ok(tokio::net::lookup_host((host, port))
        .await?
        .map(|a| a.ip())
        .collect())
}

/// Plain-HTTP discovery is for closed set-ups only: refuse a name that resolves to a public
/// address, where anyone on the path could swap the document.
async fn refuse_public(name: &NodeName) -> Result<(), FedError> {
    let ips = addresses_of(name)
        .await
        .map_err(|e| unreachable(name, format!("cannot resolve: {e}")))?;
    if let Some(ip) = ips.into_iter().find(|ip| !is_private(*ip)) {
        return Err(unreachable(
            name,
            format!("http discovery refused: {ip} is a public address"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use winichat_protocol::federation::document::{KeyRotation, NodeDocument};

    use super::*;

    fn name(text: &str) -> NodeName {
        NodeName::parse(text).expect("valid")
    }

    fn directory(settings: FederationSettings) -> PeerDirectory {
        PeerDirectory::new(name("me.example"), &settings).expect("directory")
    }

    fn document(
        signing: &SigningKey,
        valid_until: Timestamp,
        rotation: Option<Vec<u8>>,
    ) -> Vec<u8> {
        NodeDocument {
            name: name("b.example"),
            key: PublicKey::of(signing).to_bytes().to_vec(),
            quic: vec!["127.0.0.1:7811".to_owned()],
            versions: vec![1],
            valid_until,
            rotation,
        }
        .sign(signing)
        .expect("signs")
        .raw()
        .to_vec()
    }

    #[tokio::test]
    async fn a_name_whose_document_cannot_be_fetched_is_not_fetched_again_at_once() {
        // Nothing listens on 127.0.0.1:1: the first fetch fails fast, the second is not tried.
        let dir = directory(FederationSettings {
            discovery: Discovery::Http,
            ..Default::default()
        });
        let nowhere = name("127.0.0.1:1");
        let first = dir.resolve(&nowhere).await.expect_err("nothing there");
        assert!(first.to_string().contains("fetching"), "{first}");
        let second = dir.resolve(&nowhere).await.expect_err("still nothing");
        assert!(second.to_string().contains("a moment ago"), "{second}");
    }

    #[tokio::test]
    async fn pinned_peers_and_lists() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let dir = directory(FederationSettings {
            discovery: Discovery::Pinned,
            ..Default::default()
        });
        let b = name("b.example");
        assert!(matches!(
            dir.resolve(&b).await,
            Err(FedError::Unreachable { .. })
        ));
        dir.pin(PinnedPeer {
            name: b.clone(),
            quic: "127.0.0.1:7811".parse().expect("addr"),
            key: PublicKey::of(&key).to_bytes(),
        });
        let info = dir.resolve(&b).await.expect("pinned");
        assert_eq!(info.key, PublicKey::of(&key));
        dir.set_deny(vec![b.clone()]);
        assert!(matches!(
            dir.resolve(&b).await,
            Err(FedError::NotAllowed { .. })
        ));
        dir.set_deny(vec![]);
        dir.set_allow(vec![name("c.example")]);
        assert!(matches!(
            dir.resolve(&b).await,
            Err(FedError::NotAllowed { .. })
        ));
        dir.set_allow(vec![]);
        assert!(dir.unpin(&b));
        assert!(dir.resolve(&b).await.is_err());
        assert!(!dir.is_allowed(&name("me.example")), "never ourselves");
    }

    #[tokio::test]
    async fn discovered_keys_change_only_by_rotation() {
        let dir = directory(FederationSettings {
            discovery: Discovery::Pinned,
            ..Default::default()
        });
        let b = name("b.example");
        let now = Timestamp(1_700_000_000_000);
        let old = SigningKey::from_bytes(&[1; 32]);
        let new = SigningKey::from_bytes(&[2; 32]);
        let info = dir
            .accept_document(
                &b,
                &document(&old, Timestamp(now.0 + 60_000), None),
                None,
                now,
            )
            .await
            .expect("accepted");
        assert_eq!(info.key, PublicKey::of(&old));
        assert_eq!(info.addrs, vec!["127.0.0.1:7811".parse().expect("addr")]);

        let known = Some(PublicKey::of(&old));
        let unrotated = document(&new, Timestamp(now.0 + 60_000), None);
        assert!(
            dir.accept_document(&b, &unrotated, known, now)
                .await
                .is_err()
        );
        let rotation = KeyRotation {
            name: b.clone(),
            old_key: PublicKey::of(&old).to_bytes().to_vec(),
            new_key: PublicKey::of(&new).to_bytes().to_vec(),
            ts: now,
        }
        .sign(&old)
        .expect("signs");
        let rotated = document(&new, Timestamp(now.0 + 60_000), Some(rotation));
        let info = dir
            .accept_document(&b, &rotated, known, now)
            .await
            .expect("rotated");
        assert_eq!(info.key, PublicKey::of(&new));
    }

    #[test]
    fn private_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "::1",
            "fd00::1",
            "100.64.0.1",
        ] {
            assert!(is_private(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["203.0.113.7", "8.8.8.8", "2001:db8::1"] {
            assert!(!is_private(ip.parse().expect("ip")), "{ip}");
        }
    }
}
