//! TLS for federation: a self-signed certificate over the node's identity key.
//!
//! Peers do not trust the certificate through any CA: they check that its key is the key
//! published for the node name (ARCHITECTURE "Wire formats"), so the certificate only has to
//! carry the identity key and the name.

use std::sync::Arc;

use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey;
use rcgen::{CertificateParams, DnType, KeyPair};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use winichat_protocol::ids::NodeName;
use winichat_protocol::keys::PublicKey;

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

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn private_key(identity: &NodeIdentity) -> Result<PrivateKeyDer<'static>, NodeError> {
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        identity.pkcs8_der()?,
    )))
}

/// The rustls server configuration of the federation endpoint: TLS 1.3 only (QUIC requires
/// it), ALPN `winichat-fed/1`, the ring provider named explicitly so nothing depends on which
/// process-wide default happens to be installed, and a client certificate required of every
/// peer. The certificate is only checked for key possession here; which node it belongs to is
/// checked right after the handshake, against the peer directory (see `incoming`).
pub fn server_config(
    identity: &NodeIdentity,
    name: &NodeName,
) -> Result<rustls::ServerConfig, NodeError> {
    let cert = certificate(identity, name)?;
    let provider = provider();
    let verifier = Arc::new(PeerCertVerifier {
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| NodeError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![cert], private_key(identity)?)
        .map_err(|e| NodeError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// The rustls client configuration for dialling one peer: our certificate as the client
/// certificate, and the peer's certificate accepted only when it carries `expected_key`.
pub fn client_config(
    identity: &NodeIdentity,
    name: &NodeName,
    expected_key: PublicKey,
) -> Result<rustls::ClientConfig, NodeError> {
    let cert = certificate(identity, name)?;
    let provider = provider();
    let verifier = Arc::new(PinnedKeyVerifier {
        expected: expected_key,
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| NodeError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(vec![cert], private_key(identity)?)
        .map_err(|e| NodeError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// The Ed25519 key a certificate carries.
pub fn certificate_key(cert: &CertificateDer<'_>) -> Result<PublicKey, rustls::Error> {
    let bad = |what: &str| rustls::Error::General(format!("peer certificate: {what}"));
    let parsed = ParsedCertificate::try_from(cert)?;
    let key = VerifyingKey::from_public_key_der(parsed.subject_public_key_info().as_ref())
        .map_err(|_| bad("not an Ed25519 key"))?;
    PublicKey::from_bytes(key.as_bytes()).map_err(|e| bad(&e.to_string()))
}

/// The node name a certificate claims: its subject's common name.
pub fn certificate_name(cert: &CertificateDer<'_>) -> Option<NodeName> {
    let text = der::subject_common_name(cert.as_ref())?;
    NodeName::parse(text).ok()
}

/// The handshake-signature methods both verifiers share (rustls asks them of server and client
/// verifiers alike): TLS 1.3 only, Ed25519 only, checked with the provider's algorithms in
/// `self.algorithms`.
macro_rules! handshake_signatures {
    () => {
        fn verify_tls12_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Err(rustls::Error::PeerIncompatible(
                rustls::PeerIncompatible::Tls12NotOffered,
            ))
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            vec![SignatureScheme::ED25519]
        }
    };
}

/// Accepts a client certificate that is well formed and carries an Ed25519 key; the TLS
/// signature then proves the peer holds that key.
#[derive(Debug)]
struct PeerCertVerifier {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PeerCertVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        certificate_key(end_entity)?;
        if certificate_name(end_entity).is_none() {
            return Err(rustls::Error::General(
                "peer certificate: no node name".to_owned(),
            ));
        }
        Ok(ClientCertVerified::assertion())
    }

    handshake_signatures!();
}

/// Accepts the server certificate only when it carries the key the dialled name resolved to.
#[derive(Debug)]
struct PinnedKeyVerifier {
    expected: PublicKey,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedKeyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if certificate_key(end_entity)? == self.expected {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "peer certificate key is not the node's key".to_owned(),
            ))
        }
    }

    handshake_signatures!();
}

/// Just enough DER to read a certificate's subject common name.
mod der {
    /// `2.5.4.3` (id-at-commonName).
    const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

    /// Splits one TLV off `input`: (tag, contents, rest).
    fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let len = rest[..count]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, &rest[count..])
        };
        if rest.len() < len {
            return None;
        }
        Some((tag, &rest[..len], &rest[len..]))
    }

    /// Certificate → TBSCertificate → subject → the first commonName attribute.
    pub fn subject_common_name(cert: &[u8]) -> Option<&str> {
        let (0x30, certificate, _) = tlv(cert)? else {
            return None;
        };
        let (0x30, tbs, _) = tlv(certificate)? else {
            return None;
        };
        let mut fields = tbs;
        // [0] version is optional; then serial, signature, issuer, validity, subject.
        let (tag, _, rest) = tlv(fields)?;
        if tag == 0xa0 {
            fields = rest;
        }
        for _ in 0..4 {
            fields = tlv(fields)?.2;
        }
        let (0x30, mut subject, _) = tlv(fields)? else {
            return None;
        };
        while !subject.is_empty() {
            let (set_tag, set, rest) = tlv(subject)?;
            subject = rest;
            if set_tag != 0x31 {
                return None;
            }
            let mut attributes = set;
            while !attributes.is_empty() {
                let (_, attribute, rest) = tlv(attributes)?;
                attributes = rest;
                let (0x06, oid, value) = tlv(attribute)? else {
                    return None;
                };
                if oid == COMMON_NAME {
                    // UTF8String or PrintableString.
                    let (tag, text, _) = tlv(value)?;
                    if tag != 0x0c && tag != 0x13 {
                        return None;
                    }
                    return core::str::from_utf8(text).ok();
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_carries_the_name_and_the_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let identity = NodeIdentity::load_or_create(dir.path()).expect("identity");
        for text in ["chat.example.org", "127.0.0.1:7801", "[::1]:7801"] {
            let name = NodeName::parse(text).expect("valid");
            let cert = certificate(&identity, &name).expect("certificate");
            assert_eq!(certificate_name(&cert), Some(name));
            let key = certificate_key(&cert).expect("an Ed25519 key");
            assert_eq!(key.to_bytes(), identity.public_key().to_bytes());
        }
        assert_eq!(
            certificate_name(&CertificateDer::from(vec![0x30, 0x03])),
            None
        );
    }
}
