//! Why the node could not start or keep running.
//!
//! Every message is one line a self-hoster can act on: which address, which key, which path.
//! `main` prints it as `error: …` and exits with [`NodeError::exit_code`].

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::backup::BackupError;
use crate::config::ConfigError;
use crate::identity::IdentityError;
use crate::storage::StorageError;

/// Which of the node's listeners an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// The HTTP listener (TCP).
    Http,
    /// The QUIC federation listener (UDP).
    Quic,
    /// The plain-HTTP listener that redirects to HTTPS (TCP).
    Redirect,
    /// The metrics listener (TCP).
    Metrics,
}

impl std::fmt::Display for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Listener::Http => "HTTP (TCP)",
            Listener::Quic => "QUIC (UDP)",
            Listener::Redirect => "the HTTP redirect to HTTPS (TCP)",
            Listener::Metrics => "metrics (TCP)",
        })
    }
}

/// A failure of the node as a whole.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The configuration could not be read or is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The command line is malformed (clap's message, reduced to one line).
    #[error("{0}")]
    Usage(String),
    /// A listener could not be bound.
    #[error("cannot listen for {listener} on {addr}: {}", describe_io(source))]
    Bind {
        /// Which listener.
        listener: Listener,
        /// The address that was asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: io::Error,
    },
    /// The data directory cannot be created or written.
    #[error("data directory {} is not writable: {}", path.display(), describe_io(source))]
    DataDir {
        /// The data directory.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// Another process (a running node, or a key rotation) holds the data directory's lock.
    #[error(
        "data directory {} is in use by another winichat process (a running node or a key \
         rotation): stop it first",
        path.display()
    )]
    DataDirInUse {
        /// The data directory.
        path: PathBuf,
    },
    /// The identity key is missing, unreadable or unsafe.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The database could not be opened, migrated or used.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A backup or restore failed.
    #[error(transparent)]
    Backup(#[from] BackupError),
    /// The TLS configuration for federation could not be built from the identity key.
    #[error("cannot set up federation TLS: {0}")]
    Tls(String),
    /// The HTTPS certificate or key cannot be used.
    #[error("cannot serve HTTPS: {0}")]
    HttpsCertificate(#[from] crate::connections::tls::CertificateError),
    /// A background task of the node failed unexpectedly.
    #[error("internal error: {0}")]
    Internal(String),
}

impl NodeError {
    /// The process exit code for this error: 2 for a usage or configuration mistake (fix the
    /// command or the file), 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            NodeError::Config(_) | NodeError::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// An IO error in words, without Rust's "(os error 98)" noise for the common cases.
pub(crate) fn describe_io(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::AddrInUse => "address already in use".into(),
        io::ErrorKind::AddrNotAvailable => "address not available on this machine".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::NotADirectory => "a path component is not a directory".into(),
        io::ErrorKind::ReadOnlyFilesystem => "read-only file system".into(),
        _ => error.to_string(),
    }
}
