//! The peer directory: which key and addresses a node name stands for, and whether we
//! federate with it at all.
//!
//! Pinned peers (configuration or [`PeerDirectory::pin`]) win; otherwise, with discovery on,
//! the node document is fetched from `http(s)://NAME/.well-known/winichat/node`, verified and
//! cached until its `valid_until`. A cached key is remembered after expiry so that a later
//! document with another key is accepted only with a rotation signed by the cached one.
//!
//! A peer presenting a certificate key other than the cached one may have rotated its key:
//! its document is fetched again at once (at most once a minute per name) and the new key
//! taken when the rotation proves it. The document's rotations also give the keys the peer
//! signed with before ([`KeyHistory`]), with which a replica verifies a home's older events.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use winichat_protocol::Timestamp;
use winichat_protocol::federation::document::{self, DocumentError, KeyHistory};
use winichat_protocol::ids::NodeName;
use winichat_protocol::keys::PublicKey;

use super::down::DownPeers;
use super::recent::RecentNames;
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
    /// The keys the document's rotations prove; `history.current == info.key`.
    history: KeyHistory,
}

#[derive(Debug)]
struct Lists {
    pinned: HashMap<NodeName, PinnedPeer>,
    allow: HashSet<NodeName>,
    deny: HashSet<NodeName>,
    discovered: HashMap<NodeName, Discovered>,
    /// When a document fetch for a name last failed: no new fetch for it before
    /// [`FETCH_RETRY_MS`] (a connecting stranger's made-up name costs one fetch a minute).
    failed: RecentNames,
    /// When a name's document was last fetched again because its certificate key changed:
    /// such refetches happen at most once per [`FETCH_RETRY_MS`] (spec/federation.md §2.3).
    refetched: RecentNames,
    /// Discovered names whose document the next resolve fetches again (a key mismatch).
    refetch_due: HashSet<NodeName>,
}

/// A name whose node document could not be fetched is not fetched again for this long.
const FETCH_RETRY_MS: u64 = 60_000;
/// The most names remembered as failed (or refetched); beyond it the least recently recorded
/// are forgotten, one for each new name.
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
    /// Peers that did not answer a moment ago (shared by the links, which dial, and the
    /// accept loop, which sees peers come back).
    down: DownPeers,
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
            failed: RecentNames::new(MAX_FAILED_NAMES),
            refetched: RecentNames::new(MAX_FAILED_NAMES),
            refetch_due: HashSet::new(),
        };
        Ok(PeerDirectory {
            me,
            discovery: settings.discovery,
            lists: Mutex::new(lists),
            http,
            fetches: tokio::sync::Semaphore::new(CONCURRENT_FETCHES),
            down: DownPeers::default(),
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

    /// The peers known to be down right now.
    pub fn down(&self) -> &DownPeers {
        &self.down
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
        // `cached`: a document still valid, due for a refetch because the peer presented
        // another key; it stays in use if the refetch fails or is refused (§2.3).
        let (known_key, cached) = {
            let mut lists = self.lists();
            if let Some(pinned) = lists.pinned.get(name) {
                let key = PublicKey::from_bytes(&pinned.key).map_err(|e| unreachable(name, e))?;
                return Ok(PeerInfo {
                    key,
                    addrs: vec![pinned.quic],
                });
            }
            let refetch = lists.refetch_due.remove(name);
            match lists.discovered.get(name) {
                Some(entry) if entry.valid_until > clock::now() => {
                    if !refetch {
                        return Ok(entry.info.clone());
                    }
                    (Some(entry.info.key), Some(entry.info.clone()))
                }
                Some(entry) => (Some(entry.info.key), None),
                None => (None, None),
            }
        };
        let Some(http) = &self.http else {
            return cached.ok_or_else(|| unreachable(name, "not a pinned peer (discovery is off)"));
        };
        let now = clock::now();
        if let Some(at) = self.lists().failed.get(name)
            && now.millis().saturating_sub(at.millis()) < FETCH_RETRY_MS
        {
            return cached.ok_or_else(|| {
                unreachable(name, "its node document could not be fetched a moment ago")
            });
        }
        let fetched = match self.fetches.acquire().await {
            Ok(_permit) => match self.fetch(http, name).await {
                Ok(bytes) => self.accept_document(name, &bytes, known_key, now).await,
                Err(e) => Err(e),
            },
            Err(_) => Err(unreachable(name, "discovery is shut down")),
        };
        {
            let mut lists = self.lists();
            match &fetched {
                Ok(_) => {
                    lists.failed.remove(name);
                }
                Err(_) => lists.failed.record(name, now),
            }
        }
        match (fetched, cached) {
            (Err(e), Some(cached)) => {
                tracing::warn!(peer = %name, error = %e, "federation: node document not refetched; the cached one stays in use");
                Ok(cached)
            }
            (fetched, _) => fetched,
        }
    }

    /// Forgets what discovery learnt about `name` (its remembered key too).
    pub fn forget(&self, name: &NodeName) {
        self.lists().discovered.remove(name);
    }

    /// Resolves `name` for a peer whose TLS certificate carries `presented`. When that is not
    /// the key we hold, the peer may have rotated: its document is fetched again at once (at
    /// most once a minute per name) and the new key taken if the document's rotation, signed
    /// by the held key, proves it. A pinned peer keeps its pinned key: its operator re-pins.
    pub async fn resolve_presented(
        &self,
        name: &NodeName,
        presented: &PublicKey,
    ) -> Result<PeerInfo, FedError> {
        let info = self.resolve(name).await?;
        if &info.key == presented {
            return Ok(info);
        }
        if self.lists().pinned.contains_key(name) {
            tracing::warn!(
                peer = %name,
                "federation: the peer presents a key other than its pinned key; if it rotated \
                 its key, re-pin it with the new key (`--peer`, `[[federation.peers]]`)"
            );
            return Err(unreachable(name, "certificate key is not the pinned key"));
        }
        if !self.suspect_rotation(name) {
            return Err(unreachable(
                name,
                "certificate key is not the node's key (its document was fetched again a \
                 moment ago)",
            ));
        }
        tracing::info!(peer = %name, "federation: the peer presents another key; fetching its node document again");
        let info = self.resolve(name).await?;
        if &info.key == presented {
            tracing::info!(peer = %name, "federation: the peer rotated its key; following the rotation");
            Ok(info)
        } else {
            Err(unreachable(name, "certificate key is not the node's key"))
        }
    }

    /// A discovered peer seems to have changed its key (its certificate did not match): the
    /// next [`PeerDirectory::resolve`] fetches its document again, checking the rotation
    /// against the held key; the cached document stays in use if that fails. At most once a
    /// minute per name; false (nothing done) inside that minute, or for a pinned or
    /// never-discovered name.
    pub fn suspect_rotation(&self, name: &NodeName) -> bool {
        let now = clock::now();
        let mut lists = self.lists();
        if lists.pinned.contains_key(name) || !lists.discovered.contains_key(name) {
            return false;
        }
        if let Some(at) = lists.refetched.get(name)
            && now.millis().saturating_sub(at.millis()) < FETCH_RETRY_MS
        {
            return false;
        }
        lists.refetched.record(name, now);
        // A refetch must not be held back by an earlier failed fetch of the name.
        lists.failed.remove(name);
        lists.refetch_due.insert(name.clone());
        true
    }

    /// The keys `name` signed with: the current one (as [`PeerDirectory::resolve`]) and, for
    /// a discovered peer, the earlier ones its document's rotations prove. A pinned peer has
    /// only its pinned key.
    pub async fn key_history(&self, name: &NodeName) -> Result<KeyHistory, FedError> {
        let info = self.resolve(name).await?;
        let lists = self.lists();
        match lists.discovered.get(name) {
            Some(entry) if entry.info.key == info.key && !lists.pinned.contains_key(name) => {
                Ok(entry.history.clone())
            }
            _ => Ok(KeyHistory::only(info.key)),
        }
    }

    /// Verifies a fetched document for `name`, resolves its addresses and caches it.
    async fn accept_document(
        &self,
        name: &NodeName,
        bytes: &[u8],
        known_key: Option<PublicKey>,
        now: Timestamp,
    ) -> Result<PeerInfo, FedError> {
        let refused = |e: DocumentError| {
            if known_key.is_some() && matches!(e, DocumentError::UnprovenRotation(_)) {
                tracing::warn!(peer = %name, error = %e, "federation: node document with a new key refused; keeping the key held");
            }
            unreachable(name, format!("node document: {e}"))
        };
        let doc =
            document::verify_document(bytes, name, known_key.as_ref(), now).map_err(refused)?;
        let history = document::key_history(&doc).map_err(refused)?;
        let key = history.current;
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
                history,
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
            Discovery::Https | Discovery::Pinned => {
                refuse_ip_literal(name)?;
                "https"
            }
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

/// Whether `name`'s host is an IP address literal rather than a DNS name, in any form a
/// resolver or URL parser takes for an address (see [`host_is_ip_literal`]).
pub fn is_ip_literal(name: &NodeName) -> bool {
    host_is_ip_literal(name.host())
}

/// Whether `host` (without a port) would be taken for an IP address by `inet_aton`
/// (`getaddrinfo`) or by the WHATWG URL parser the document fetch uses: dotted decimal, the
/// shortened (`127.1`), single-integer (`2130706433`), octal (`0177.0.0.1`) and hex
/// (`0x7f.1`) IPv4 forms, IPv6 bare or bracketed (IPv4-mapped included, with or without a
/// zone), and whatever the URL parser maps onto those (percent-encoding, full-width digits).
pub fn host_is_ip_literal(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    // A zone (`fe80::1%eth0`, `%25` in URLs) names an interface, not another address.
    let unzoned = bare.split('%').next().unwrap_or(bare);
    if bare.parse::<IpAddr>().is_ok() || unzoned.parse::<Ipv6Addr>().is_ok() {
        return true;
    }
    // The URL standard parses any host whose last label is a number as IPv4 (or fails); no
    // DNS name has an all-numeric top-level label (RFC 3696 §2), so none is lost here.
    if ends_in_a_number(host) {
        return true;
    }
    // What the URL parser makes of the rest, after percent-decoding and IDNA mapping.
    reqwest::Url::parse(&format!("https://{host}/"))
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .is_some_and(|parsed| {
            let parsed = parsed
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(&parsed);
            parsed.parse::<IpAddr>().is_ok()
        })
}

/// The URL standard's "ends in a number": the last label (a trailing dot aside) is decimal
/// digits, or `0x`/`0X` followed by hex digits.
fn ends_in_a_number(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let last = host.rsplit('.').next().unwrap_or(host);
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    last.strip_prefix("0x")
        .or_else(|| last.strip_prefix("0X"))
        .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// HTTPS discovery authenticates a name by its web certificate, issued for DNS names: a name
/// that is an IP literal has no such certificate to validate, so its document is not fetched.
fn refuse_ip_literal(name: &NodeName) -> Result<(), FedError> {
    if is_ip_literal(name) {
        return Err(unreachable(
            name,
            "https discovery needs a DNS name, and this node name is an IP address (no web \
             certificate validates it); pin the peer (`--peer`, `[[federation.peers]]`) or, on \
             a private network, use `federation.discovery = \"http\"`",
        ));
    }
    Ok(())
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
            earlier_rotations: Vec::new(),
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
        let history = dir
            .lists()
            .discovered
            .get(&b)
            .expect("cached")
            .history
            .clone();
        assert_eq!(history.current, PublicKey::of(&new));
        assert!(
            history.knows(&PublicKey::of(&old)),
            "the old key stays known"
        );
    }

    #[tokio::test]
    async fn https_discovery_refuses_ip_literal_names() {
        let dir = directory(FederationSettings {
            discovery: Discovery::Https,
            ..Default::default()
        });
        for literal in ["127.0.0.1:7800", "[::1]:7800", "203.0.113.7"] {
            let err = dir.resolve(&name(literal)).await.expect_err("refused");
            assert!(
                err.to_string().contains("needs a DNS name"),
                "{literal}: {err}"
            );
        }
        assert!(is_ip_literal(&name("[2001:db8::1]:443")));
        assert!(!is_ip_literal(&name("chat.example.org:8443")));
        // A hex IPv4 is a valid node name (its labels are DNS-like) yet reaches 127.0.0.1.
        let err = dir
            .resolve(&name("0x7f.1:7800"))
            .await
            .expect_err("refused");
        assert!(err.to_string().contains("needs a DNS name"), "{err}");
    }

    #[test]
    fn ip_literals_are_recognised_in_every_form_resolvers_and_url_parsers_accept() {
        let literals = [
            // dotted decimal, with a trailing dot
            "127.0.0.1",
            "127.0.0.1.",
            "203.0.113.7",
            // shortened forms and a single integer
            "127.1",
            "127.0.1",
            "2130706433",
            // octal and hex, per part or whole
            "0177.0.0.1",
            "0177.1",
            "017700000001",
            "0x7f.1",
            "0x7f.0.0.1",
            "0X7F.0.0.1",
            "0x7f000001",
            "127.0.0.0x1",
            // IPv6, bracketed or bare, IPv4-mapped, with a zone
            "[::1]",
            "::1",
            "[2001:db8::1]",
            "[::ffff:127.0.0.1]",
            "::ffff:127.0.0.1",
            "[::ffff:7f00:1]",
            "fe80::1%eth0",
            "[fe80::1%25eth0]",
            // what the URL parser maps onto an address
            "%31%32%37.0.0.1",
            "\u{ff11}\u{ff12}\u{ff17}.\u{ff10}.\u{ff10}.\u{ff11}",
            "127\u{3002}0\u{3002}0\u{3002}1",
        ];
        for host in literals {
            assert!(host_is_ip_literal(host), "{host:?} is an IP literal");
        }
        for host in [
            "chat.example.org",
            "chat.example.org.",
            "localhost",
            "0x7f.example",
            "127.0.0.1.example",
            "1.2.3.4.nip.io",
            "xn--bcher-kva.example",
        ] {
            assert!(!host_is_ip_literal(host), "{host:?} is a DNS name");
        }
        // The same through node names, port and all.
        for literal in ["0x7f.1:8443", "0x7f000001:443", "[::ffff:127.0.0.1]:443"] {
            assert!(is_ip_literal(&name(literal)), "{literal}");
        }
    }

    #[tokio::test]
    async fn a_rotation_is_suspected_at_most_once_a_minute_and_never_for_pins() {
        let dir = directory(FederationSettings {
            discovery: Discovery::Pinned,
            ..Default::default()
        });
        let b = name("b.example");
        let now = clock::now();
        let old = SigningKey::from_bytes(&[1; 32]);
        assert!(!dir.suspect_rotation(&b), "nothing discovered yet");
        dir.accept_document(
            &b,
            &document(&old, Timestamp(now.0 + 60_000), None),
            None,
            now,
        )
        .await
        .expect("accepted");
        assert!(dir.suspect_rotation(&b), "first mismatch: refetch");
        assert!(
            !dir.suspect_rotation(&b),
            "second within the minute: not again"
        );
        // Due for a refetch, which cannot happen here (discovery off): the cached document
        // stays in use.
        let info = dir.resolve(&b).await.expect("the cached document");
        assert_eq!(info.key, PublicKey::of(&old));

        let c = name("c.example");
        dir.pin(PinnedPeer {
            name: c.clone(),
            quic: "127.0.0.1:7811".parse().expect("addr"),
            key: PublicKey::of(&old).to_bytes(),
        });
        assert!(!dir.suspect_rotation(&c), "pinned: never refetched");
        let other = PublicKey::of(&SigningKey::from_bytes(&[2; 32]));
        let err = dir
            .resolve_presented(&c, &other)
            .await
            .expect_err("pin kept");
        assert!(err.to_string().contains("pinned"), "{err}");
        let info = dir
            .resolve_presented(&c, &PublicKey::of(&old))
            .await
            .expect("the pinned key");
        assert_eq!(info.key, PublicKey::of(&old));
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
