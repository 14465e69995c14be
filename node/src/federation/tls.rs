//! TLS for federation: a self-signed certificate over the node's identity key.
//!
//! Peers do not trust the certificate through any CA: they check that its key is the key
//! published for the node name (ARCHITECTURE "Wire formats"), so the certificate only has to
//! carry the identity key and the name.

use std::sync::Arc;

use rcgen::{CertificateParams, DnType, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use winichat_protocol::ids::NodeName;

use crate::error::NodeError;
use crate::identity::NodeIdentity;

use super::ALPN;

/// A self-signed certificate for `name`, signed with and carrying the identity key.
pub fn certificate(
    identity: &NodeIdentity,
    name: &NodeName,
) -> Result<CertificateDer<'static>, NodeError> {
    let der = identity.pkcs8_der()?;
    let key = KeyPair::try_from(der.as_slice())
        .map_err(|e| NodeError::Tls(format!("identity key not usable for a certificate: {e}")))?;
    // rcgen makes an IP address SAN from a bare address, a DNS SAN otherwise; IPv6 names
    // carry brackets that are not part of the address.
    let host = name
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let mut params = CertificateParams::new(vec![host]).map_err(|e| {
        NodeError::Tls(format!("node name {name} not usable in a certificate: {e}"))
    })?;
    params
        .distinguished_name
        .push(DnType::CommonName, name.to_string());
    let cert = params
        .self_signed(&key)
        .map_err(|e| NodeError::Tls(format!("cannot sign the certificate: {e}")))?;
    Ok(cert.der().clone())
}

/// The rustls server configuration of the federation endpoint: TLS 1.3 only (QUIC requires
/// it), ALPN `winichat-fed/1`, the ring provider named explicitly so nothing depends on which
/// process-wide default happens to be installed.
pub fn server_config(
    identity: &NodeIdentity,
    name: &NodeName,
) -> Result<rustls::ServerConfig, NodeError> {
    let cert = certificate(identity, name)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.pkcs8_der()?));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // Client certificates (mutual authentication of peers) arrive with federation links.
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| NodeError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .map_err(|e| NodeError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}
