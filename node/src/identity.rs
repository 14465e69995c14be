//! The node's ed25519 identity key and its data directory.
//!
//! The key is made on first start and kept at `<data_dir>/node.key` as PKCS#8 PEM, readable
//! only by its owner. It signs everything the node originates and, through a self-signed
//! certificate, authenticates the node's federation links, so losing or leaking it changes
//! who the node is: we refuse to run with a key file others can read.

use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use winichat_protocol::ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use winichat_protocol::ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use winichat_protocol::ed25519_dalek::{SigningKey, VerifyingKey};

use crate::error::{NodeError, describe_io};

/// File name of the identity key inside the data directory.
pub const KEY_FILE: &str = "node.key";

/// Why the identity key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// `keys show` (or anything that must not create a key) found none.
    #[error("no identity key at {}: run `winichat serve` once to create it", path.display())]
    Missing {
        /// Where the key was expected.
        path: PathBuf,
    },
    /// The key file exists but could not be read.
    #[error("cannot read identity key {}: {}", path.display(), describe_io(source))]
    Read {
        /// The key file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The key file could not be written.
    #[error("cannot write identity key {}: {}", path.display(), describe_io(source))]
    Write {
        /// The key file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The key file can be read by group or others.
    #[error(
        "identity key {} has mode {mode:04o}; it must be readable only by its owner (chmod 600 {})",
        path.display(),
        path.display()
    )]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file is not an ed25519 PKCS#8 PEM key.
    #[error("identity key {} is not a valid ed25519 PKCS#8 PEM key: {reason}", path.display())]
    Invalid {
        /// The key file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The operating system's random number generator failed.
    #[error("cannot generate an identity key: no randomness available: {0}")]
    Random(String),
}

/// The node's identity: its ed25519 signing key.
#[derive(Clone)]
pub struct NodeIdentity {
    key: SigningKey,
}

// Hand-written so the secret key never reaches a log line.
impl fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeIdentity")
            .field("public_key", &self.public_key_base64url())
            .finish()
    }
}

impl NodeIdentity {
    /// Loads the key from `data_dir`, creating it (and nothing else) if there is none.
    pub fn load_or_create(data_dir: &Path) -> Result<NodeIdentity, IdentityError> {
        match NodeIdentity::load(data_dir) {
            Err(IdentityError::Missing { path }) => NodeIdentity::create(&path),
            other => other,
        }
    }

    /// Loads an existing key; never creates one.
    pub fn load(data_dir: &Path) -> Result<NodeIdentity, IdentityError> {
        load_key(&data_dir.join(KEY_FILE)).map(|key| NodeIdentity { key })
    }

    fn create(path: &Path) -> Result<NodeIdentity, IdentityError> {
        let key = create_key(path)?;
        tracing::info!(path = %path.display(), "created a new node identity key");
        Ok(NodeIdentity { key })
    }

    /// The signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The public key.
    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The public key as unpadded base64url, as published in the node document.
    pub fn public_key_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public_key().as_bytes())
    }

    /// A fingerprint for humans comparing keys: lowercase hex of SHA-256 over the 32 public
    /// key bytes.
    pub fn fingerprint(&self) -> String {
        hex::encode(Sha256::digest(self.public_key().as_bytes()))
    }

    /// The secret key as PKCS#8 DER, for building the TLS certificate.
    pub fn pkcs8_der(&self) -> Result<Vec<u8>, NodeError> {
        self.key
            .to_pkcs8_der()
            .map(|doc| doc.as_bytes().to_vec())
            .map_err(|e| NodeError::Tls(format!("cannot encode the identity key: {e}")))
    }
}

/// Loads an ed25519 PKCS#8 PEM key from `path`, refusing a file group or others can read.
pub fn load_key(path: &Path) -> Result<SigningKey, IdentityError> {
    let path = path.to_path_buf();
    let metadata = match fs::metadata(&path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(IdentityError::Missing { path });
        }
        Err(source) => return Err(IdentityError::Read { path, source }),
    };
    let mode = metadata.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(IdentityError::Permissions { path, mode });
    }
    let pem = fs::read_to_string(&path).map_err(|source| IdentityError::Read {
        path: path.clone(),
        source,
    })?;
    let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| IdentityError::Invalid {
        path,
        reason: e.to_string(),
    })?;
    Ok(key)
}

/// Makes a new key and writes it to `path` atomically: to a temporary file created with
/// mode 0600 (so the secret is never readable by others, not even for an instant), then
/// renamed into place, so a crash never leaves a half-written key behind.
pub(crate) fn create_key(path: &Path) -> Result<SigningKey, IdentityError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| IdentityError::Random(e.to_string()))?;
    let key = SigningKey::from_bytes(&secret);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| IdentityError::Invalid {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;

    let write_err = |source| IdentityError::Write {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("key.tmp");
    // A leftover from a crash may have any mode; `mode()` only applies to new files.
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(write_err(e)),
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(write_err)?;
    file.write_all(pem.as_bytes()).map_err(write_err)?;
    file.sync_all().map_err(write_err)?;
    drop(file);
    fs::rename(&tmp, path).map_err(write_err)?;
    // Make the rename itself durable.
    if let Some(dir) = path.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(write_err)?;
    }
    Ok(key)
}

/// Loads the key at `path`, creating it (mode 0600, atomically) if there is none. The second
/// value is true when the key was created.
pub(crate) fn load_or_create_key(path: &Path) -> Result<(SigningKey, bool), IdentityError> {
    match load_key(path) {
        Err(IdentityError::Missing { path }) => create_key(&path).map(|k| (k, true)),
        other => other.map(|k| (k, false)),
    }
}

/// Creates the data directory if it is missing (mode 0700: it holds the secret key and the
/// database) and checks that we can write in it, so the failure is reported as one clear line
/// up front rather than later by SQLite or the key writer.
pub fn prepare_data_dir(dir: &Path) -> Result<(), NodeError> {
    let err = |source| NodeError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(err)?;
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe)
        .map_err(err)?;
    fs::remove_file(&probe).map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn first_load_creates_a_private_key_and_later_loads_reuse_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            NodeIdentity::load(dir.path()),
            Err(IdentityError::Missing { .. })
        ));
        let first = NodeIdentity::load_or_create(dir.path()).expect("create");
        let mode = fs::metadata(dir.path().join(KEY_FILE))
            .expect("stat")
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let again = NodeIdentity::load_or_create(dir.path()).expect("reload");
        assert_eq!(first.public_key(), again.public_key());
        assert_eq!(first.fingerprint().len(), 64);
        assert_eq!(first.public_key_base64url().len(), 43);
        assert!(!format!("{first:?}").contains(&hex::encode(first.key.to_bytes())));
    }

    #[test]
    fn a_key_others_can_read_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        NodeIdentity::load_or_create(dir.path()).expect("create");
        let path = dir.path().join(KEY_FILE);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = NodeIdentity::load_or_create(dir.path()).expect_err("must refuse");
        assert!(err.to_string().contains("mode 0644"), "{err}");
    }

    #[test]
    fn garbage_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(KEY_FILE);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(b"not a key"))
            .expect("write");
        let err = NodeIdentity::load_or_create(dir.path()).expect_err("must refuse");
        assert!(
            err.to_string()
                .contains("not a valid ed25519 PKCS#8 PEM key"),
            "{err}"
        );
    }

    #[test]
    fn a_data_dir_below_a_regular_file_is_not_writable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("file");
        fs::write(&file, b"x").expect("write");
        let err = prepare_data_dir(&file.join("data")).expect_err("must fail");
        assert!(err.to_string().starts_with("data directory "), "{err}");
        assert!(err.to_string().contains("is not writable"), "{err}");
    }

    #[test]
    fn a_missing_data_dir_is_created_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("a/b");
        prepare_data_dir(&data).expect("create");
        assert_eq!(fs::metadata(&data).expect("stat").mode() & 0o777, 0o700);
    }
}
