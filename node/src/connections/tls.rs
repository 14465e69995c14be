//! HTTPS served by the node itself: the certificate and key from PEM files (`tls_cert`,
//! `tls_key`), reloaded on SIGHUP without dropping a connection.
//!
//! rustls asks [`ReloadingCertificate`] for the certificate at each handshake, so swapping the
//! one it holds changes what new connections get while open ones keep the session they made.
//! A reload that cannot read or parse the files, or whose key does not match the certificate,
//! keeps the certificate in force and logs why: a renewal script that wrote half a file must
//! not take the node off the air.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// The certificate chain and key files of the HTTPS listener (config: `tls_cert`, `tls_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, the node's own certificate first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the first certificate.
    pub key: PathBuf,
}

/// Why the certificate files could not be used. One line each.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// A file is missing, unreadable, or not PEM of the expected kind.
    #[error("cannot read {what} {}: {reason}", path.display())]
    Read {
        /// `"certificate"` or `"key"`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The certificate file holds no certificate.
    #[error("no certificate in {}", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The key is of a kind rustls cannot sign with, or is not the certificate's key.
    #[error("the key {} does not fit the certificate {}: {reason}", key.display(), cert.display())]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        reason: String,
    },
}

/// The certificate the HTTPS listener presents; [`ReloadingCertificate::reload`] replaces it.
pub struct ReloadingCertificate {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
}

impl fmt::Debug for ReloadingCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCertificate")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl ReloadingCertificate {
    /// Loads the files once; the node does not start without a usable certificate.
    pub fn load(files: TlsFiles) -> Result<ReloadingCertificate, CertificateError> {
        let key = certified_key(&files)?;
        Ok(ReloadingCertificate {
            files,
            current: RwLock::new(Arc::new(key)),
        })
    }

    /// Reads the files again and, if they hold a usable certificate and key, presents them
    /// to every new connection from now on. On error the certificate in force stays.
    pub fn reload(&self) -> Result<(), CertificateError> {
        let key = Arc::new(certified_key(&self.files)?);
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = key;
        Ok(())
    }

    /// The certificate in force.
    fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// A TLS acceptor (TLS 1.2 and 1.3, ring, HTTP/1.1 by ALPN) presenting this certificate.
    pub fn acceptor(self: &Arc<Self>) -> Result<TlsAcceptor, CertificateError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| CertificateError::Mismatch {
                cert: self.files.cert.clone(),
                key: self.files.key.clone(),
                reason: e.to_string(),
            })?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        let mut config = config;
        // The gateway is a WebSocket upgrade, which is HTTP/1.1 only.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

fn certified_key(files: &TlsFiles) -> Result<CertifiedKey, CertificateError> {
    let read_error = |what, path: &Path, e: &dyn fmt::Display| CertificateError::Read {
        what,
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| read_error("certificate", &files.cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read_error("certificate", &files.cert, &e))?;
    if chain.is_empty() {
        return Err(CertificateError::Empty {
            path: files.cert.clone(),
        });
    }
    let key =
        PrivateKeyDer::from_pem_file(&files.key).map_err(|e| read_error("key", &files.key, &e))?;
    let provider = rustls::crypto::ring::default_provider();
    CertifiedKey::from_der(chain, key, &provider).map_err(|e| CertificateError::Mismatch {
        cert: files.cert.clone(),
        key: files.key.clone(),
        reason: e.to_string(),
    })
}

/// Listens for SIGHUP from now on (a SIGHUP no longer ends the process), for
/// [`reload_on_sighup`]. Fails only if the handler cannot be installed.
pub fn listen_for_sighup() -> std::io::Result<Signal> {
    signal(SignalKind::hangup())
}

/// Reloads `certificate` on every SIGHUP `hangup` receives until `stop` turns true.
pub fn reload_on_sighup(
    mut hangup: Signal,
    certificate: Arc<ReloadingCertificate>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                received = hangup.recv() => {
                    if received.is_none() {
                        break;
                    }
                    match certificate.reload() {
                        Ok(()) => tracing::info!(
                            cert = %certificate.files.cert.display(),
                            "SIGHUP: HTTPS certificate reloaded"
                        ),
                        Err(e) => tracing::error!(
                            error = %e,
                            "SIGHUP: HTTPS certificate not reloaded; keeping the one in force"
                        ),
                    }
                }
                _ = stop.wait_for(|&stop| stop) => break,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str) -> (TlsFiles, Vec<u8>) {
        let issued =
            rcgen::generate_simple_self_signed(vec![name.to_owned()]).expect("certificate");
        let files = TlsFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&files.cert, issued.cert.pem()).expect("write cert");
        std::fs::write(&files.key, issued.signing_key.serialize_pem()).expect("write key");
        (files, issued.cert.der().to_vec())
    }

    #[test]
    fn a_reload_swaps_the_certificate_and_a_bad_file_keeps_the_old_one() {
        let dir = tempfile::tempdir().expect("dir");
        let (files, first) = write_pair(dir.path(), "one.test");
        let certificate = ReloadingCertificate::load(files.clone()).expect("load");
        assert_eq!(certificate.current().cert[0].as_ref(), first.as_slice());

        let (_, second) = write_pair(dir.path(), "two.test");
        certificate.reload().expect("reload");
        assert_eq!(certificate.current().cert[0].as_ref(), second.as_slice());

        std::fs::write(&files.cert, "not a certificate").expect("write");
        assert!(matches!(
            certificate.reload(),
            Err(CertificateError::Empty { .. })
        ));
        assert_eq!(certificate.current().cert[0].as_ref(), second.as_slice());

        // A key of another certificate.
        let other = rcgen::generate_simple_self_signed(vec!["x.test".to_owned()]).expect("cert");
        std::fs::write(&files.cert, other.cert.pem()).expect("write");
        let err = certificate.reload().expect_err("mismatch");
        assert!(matches!(err, CertificateError::Mismatch { .. }), "{err}");
        assert_eq!(certificate.current().cert[0].as_ref(), second.as_slice());

        std::fs::remove_file(&files.key).expect("remove");
        assert!(matches!(
            ReloadingCertificate::load(files),
            Err(CertificateError::Read { what: "key", .. })
        ));
    }
}
