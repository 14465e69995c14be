//! The node's ed25519 identity key and its data directory.
//!
//! The key is made on first start and kept at `<data_dir>/node.key` as PKCS#8 PEM, readable
//! only by its owner. It signs everything the node originates and, through a self-signed
//! certificate, authenticates the node's federation links, so losing or leaking it changes
//! who the node is: we refuse to run with a key file others can read.
//!
//! `winichat keys rotate` replaces the key (spec/federation.md §2.5): the old key is kept
//! next to it as `node.key.retired-<UTC time>` (mode 0600), and the rotation, signed by the
//! old key, is appended to `node.rotations` (one base64url COSE_Sign1 a line, oldest first),
//! which the node then publishes in its document so peers and replicas can follow the chain.

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

use winichat_protocol::Timestamp;
use winichat_protocol::federation::document::{
    KeyHistory, KeyRotation, MAX_ROTATIONS, rotation_chain,
};
use winichat_protocol::ids::NodeName;
use winichat_protocol::keys::PublicKey;

use crate::data_lock::DataDirLock;
use crate::error::{NodeError, describe_io};
use crate::storage::{self, Database};

/// File name of the identity key inside the data directory.
pub const KEY_FILE: &str = "node.key";
/// The node's signed key rotations, oldest first: one unpadded base64url COSE_Sign1 a line.
pub const ROTATIONS_FILE: &str = "node.rotations";
/// The new key of a rotation under way; renamed onto [`KEY_FILE`] once the rotation is
/// recorded, so a crash in between is finished (or forgotten) on the next load.
const NEXT_KEY_FILE: &str = "node.key.next";
/// Prefix of a retired key's file name; the UTC time of the rotation follows.
pub const RETIRED_KEY_PREFIX: &str = "node.key.retired-";

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
    /// `node.rotations` is unreadable, or its rotations do not lead to the current key.
    #[error("key rotations {}: {reason}", path.display())]
    Rotations {
        /// The rotations file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The node's identity: its ed25519 signing key, and the rotations that led to it.
#[derive(Clone)]
pub struct NodeIdentity {
    key: SigningKey,
    /// Signed `KeyRotation`s, oldest first (empty for a key never rotated).
    rotations: Vec<Vec<u8>>,
}

/// What `keys rotate` did.
#[derive(Debug)]
pub struct Rotated {
    /// The identity before.
    pub old: NodeIdentity,
    /// The identity now in `node.key`.
    pub new: NodeIdentity,
    /// Where the old key was kept.
    pub retired_path: PathBuf,
    /// The rotation's date: from it on, only the new key signs.
    pub ts: Timestamp,
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

    /// Loads an existing key and its rotations; never creates a key. A rotation interrupted
    /// after it was recorded is finished first (its new key moved into place).
    pub fn load(data_dir: &Path) -> Result<NodeIdentity, IdentityError> {
        let rotations = read_rotations(data_dir)?;
        finish_interrupted_rotation(data_dir, &rotations)?;
        let key = load_key(&data_dir.join(KEY_FILE))?;
        Ok(NodeIdentity { key, rotations })
    }

    fn create(path: &Path) -> Result<NodeIdentity, IdentityError> {
        let key = create_key(path)?;
        tracing::info!(path = %path.display(), "created a new node identity key");
        Ok(NodeIdentity {
            key,
            rotations: Vec::new(),
        })
    }

    /// Checks that `db` is this node's (spec: a database never changes owner), following the
    /// rotations: a database recorded under an earlier key of this node's verified chain moves
    /// to the current key.
    pub async fn check_database(&self, db: &Database, name: &NodeName) -> Result<(), NodeError> {
        let history = if self.rotations.is_empty() {
            None
        } else {
            Some(
                self.key_history(name)
                    .map_err(|reason| IdentityError::Rotations {
                        path: PathBuf::from(ROTATIONS_FILE),
                        reason,
                    })?,
            )
        };
        db.check_identity_rotated(name, self.public_key().as_bytes(), history.as_ref())
            .await?;
        Ok(())
    }

    /// The signed rotations that led to this key, oldest first.
    pub fn rotations(&self) -> &[Vec<u8>] {
        &self.rotations
    }

    /// The keys this node signed with, checked: the rotations must chain, as `name`, to the
    /// current key.
    pub fn key_history(&self, name: &NodeName) -> Result<KeyHistory, String> {
        let links: Vec<&[u8]> = self.rotations.iter().map(Vec::as_slice).collect();
        rotation_chain(name, &links, PublicKey::of(&self.key)).map_err(|e| e.to_string())
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

/// Replaces the node key of `data_dir` (spec/federation.md §2.5): makes a new key, keeps the
/// old one as `node.key.retired-<UTC time>` (0600), records the rotation signed by the old key
/// in `node.rotations`, then moves the new key into `node.key`. The node must be stopped: a
/// running node keeps signing with the key it loaded.
pub fn rotate(data_dir: &Path, name: &NodeName, now: Timestamp) -> Result<Rotated, IdentityError> {
    let old = NodeIdentity::load(data_dir)?;
    let rotations_path = data_dir.join(ROTATIONS_FILE);
    let bad_chain = |reason: String| IdentityError::Rotations {
        path: rotations_path.clone(),
        reason,
    };
    // Refuse to extend a chain that does not already lead to the current key as this name.
    old.key_history(name).map_err(bad_chain)?;
    if let Some(last) = old.rotations.last() {
        let last = KeyRotation::read_unverified(last).map_err(|e| bad_chain(e.to_string()))?;
        if now <= last.ts {
            return Err(bad_chain(format!(
                "the last rotation is dated {}, not before now: is the clock right?",
                last.ts
            )));
        }
    }

    let retired_path = data_dir.join(format!("{RETIRED_KEY_PREFIX}{}", utc_stamp(now)));
    write_private(&retired_path, &pem_of(&old.key, &retired_path)?)?;

    let next_path = data_dir.join(NEXT_KEY_FILE);
    let new_key = create_key(&next_path)?;
    let rotation = KeyRotation {
        name: name.clone(),
        old_key: PublicKey::of(&old.key).to_bytes().to_vec(),
        new_key: PublicKey::of(&new_key).to_bytes().to_vec(),
        ts: now,
    }
    .sign(&old.key)
    .map_err(|e| bad_chain(format!("cannot sign the rotation: {e}")))?;
    let mut rotations = old.rotations.clone();
    rotations.push(rotation);
    // The document carries a bounded chain: the oldest rotations go first.
    let excess = rotations.len().saturating_sub(MAX_ROTATIONS);
    rotations.drain(..excess);
    write_rotations(&rotations_path, &rotations)?;
    // The rotation is recorded: from here a crash is finished by the next load.
    finish_interrupted_rotation(data_dir, &rotations)?;
    let new = NodeIdentity::load(data_dir)?;
    Ok(Rotated {
        old,
        new,
        retired_path,
        ts: now,
    })
}

/// `winichat keys rotate`: [`rotate`] for the node of `data_dir` and `database_url`, holding
/// the data directory's lock (so no node serves it meanwhile), and dated no earlier than the
/// newest event the old key signed: the old key vouches only for what is dated before the
/// rotation (spec/federation.md §2.5), so a clock behind the log must not orphan its end.
pub async fn rotate_stopped_node(
    data_dir: &Path,
    database_url: &str,
    name: &NodeName,
    now: Timestamp,
) -> Result<Rotated, NodeError> {
    // Without a key there is nothing to rotate, and nothing (not even a lock file) is created.
    let key_path = data_dir.join(KEY_FILE);
    if !key_path.exists() {
        return Err(IdentityError::Missing { path: key_path }.into());
    }
    let _lock = DataDirLock::acquire(data_dir)?;
    let old = NodeIdentity::load(data_dir)?;
    let db = storage::open(database_url, data_dir).await?;
    let newest = newest_signed_ts(&old, &db, name).await;
    db.close().await;
    Ok(rotate(data_dir, name, rotation_ts(now, newest?))?)
}

/// The newest event `ts` signed by this node, after checking the database is this node's.
async fn newest_signed_ts(
    identity: &NodeIdentity,
    db: &Database,
    name: &NodeName,
) -> Result<Option<Timestamp>, NodeError> {
    identity.check_database(db, name).await?;
    Ok(db.events().newest_ts_homed_at(name).await?)
}

/// The date of a rotation made at `now` when the old key's newest event is dated `newest`:
/// strictly after that event, even if the clock says otherwise.
pub fn rotation_ts(now: Timestamp, newest: Option<Timestamp>) -> Timestamp {
    match newest {
        Some(newest) => now.max(Timestamp(newest.0.saturating_add(1))),
        None => now,
    }
}

/// `yyyymmddThhmmssZ` of `ts`, for the retired key's file name.
pub(crate) fn utc_stamp(ts: Timestamp) -> String {
    let secs = ts.0 / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The signed rotations in `data_dir`, oldest first (none when the file is missing).
fn read_rotations(data_dir: &Path) -> Result<Vec<Vec<u8>>, IdentityError> {
    let path = data_dir.join(ROTATIONS_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(IdentityError::Read { path, source }),
    };
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .enumerate()
        .map(|(index, line)| {
            URL_SAFE_NO_PAD
                .decode(line)
                .map_err(|e| IdentityError::Rotations {
                    path: path.clone(),
                    reason: format!("line {}: {e}", index + 1),
                })
        })
        .collect()
}

/// Writes `rotations` to `path` atomically (temporary file, then rename).
fn write_rotations(path: &Path, rotations: &[Vec<u8>]) -> Result<(), IdentityError> {
    let mut text = String::new();
    for rotation in rotations {
        text.push_str(&URL_SAFE_NO_PAD.encode(rotation));
        text.push('\n');
    }
    let tmp = path.with_extension("rotations.tmp");
    let _ = fs::remove_file(&tmp);
    write_private(&tmp, &text)?;
    rename_durably(&tmp, path)
}

/// A `node.key.next` left by a rotation: moved onto `node.key` when the last recorded rotation
/// names it (the rotation was recorded), removed otherwise (it never was).
fn finish_interrupted_rotation(
    data_dir: &Path,
    rotations: &[Vec<u8>],
) -> Result<(), IdentityError> {
    let next_path = data_dir.join(NEXT_KEY_FILE);
    let next = match load_key(&next_path) {
        Ok(key) => key,
        Err(IdentityError::Missing { .. }) => return Ok(()),
        Err(e) => return Err(e),
    };
    let recorded = rotations
        .last()
        .and_then(|last| KeyRotation::read_unverified(last).ok())
        .is_some_and(|last| last.new_key == PublicKey::of(&next).to_bytes());
    if recorded {
        rename_durably(&next_path, &data_dir.join(KEY_FILE))
    } else {
        tracing::warn!(path = %next_path.display(), "removing the new key of a rotation that was never recorded");
        fs::remove_file(&next_path).map_err(|source| IdentityError::Write {
            path: next_path,
            source,
        })
    }
}

fn pem_of(key: &SigningKey, path: &Path) -> Result<String, IdentityError> {
    key.to_pkcs8_pem(LineEnding::LF)
        .map(|pem| pem.to_string())
        .map_err(|e| IdentityError::Invalid {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Creates `path` (which must not exist) with mode 0600 and `text`, synced.
fn write_private(path: &Path, text: &str) -> Result<(), IdentityError> {
    let write_err = |source| IdentityError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(write_err)?;
    file.write_all(text.as_bytes()).map_err(write_err)?;
    file.sync_all().map_err(write_err)
}

/// Renames `from` onto `to` and syncs the directory, so the rename survives a crash.
fn rename_durably(from: &Path, to: &Path) -> Result<(), IdentityError> {
    let write_err = |source| IdentityError::Write {
        path: to.to_path_buf(),
        source,
    };
    fs::rename(from, to).map_err(write_err)?;
    if let Some(dir) = to.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(write_err)?;
    }
    Ok(())
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

    fn node() -> NodeName {
        NodeName::parse("rotating.example").expect("valid")
    }

    #[test]
    fn utc_stamps_name_the_second() {
        assert_eq!(utc_stamp(Timestamp(1_700_000_000_123)), "20231114T221320Z");
        assert_eq!(utc_stamp(Timestamp(0)), "19700101T000000Z");
        assert_eq!(utc_stamp(Timestamp(951_782_400_000)), "20000229T000000Z");
    }

    #[test]
    fn rotating_keeps_the_old_key_and_records_a_chain_that_reloads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = NodeIdentity::load_or_create(dir.path()).expect("create");
        let t1 = Timestamp(1_700_000_000_000);
        let rotated = rotate(dir.path(), &node(), t1).expect("rotate");
        assert_eq!(rotated.old.public_key(), first.public_key());
        assert_ne!(rotated.new.public_key(), first.public_key());
        assert_eq!(
            rotated.retired_path,
            dir.path().join("node.key.retired-20231114T221320Z")
        );
        let retired = load_key(&rotated.retired_path).expect("the old key, private");
        assert_eq!(retired.verifying_key(), first.public_key());

        let t2 = Timestamp(t1.0 + 60_000);
        let again = rotate(dir.path(), &node(), t2).expect("rotate again");
        let loaded = NodeIdentity::load(dir.path()).expect("load");
        assert_eq!(loaded.public_key(), again.new.public_key());
        assert_eq!(loaded.rotations().len(), 2);
        let history = loaded.key_history(&node()).expect("chains");
        let earlier: Vec<_> = history
            .earlier
            .iter()
            .map(|r| (r.key.to_bytes(), r.replaced_at))
            .collect();
        assert_eq!(
            earlier,
            [
                (first.public_key().to_bytes(), t1),
                (rotated.new.public_key().to_bytes(), t2)
            ]
        );
        // The chain is the node's own: under another name it does not verify.
        let other = NodeName::parse("other.example").expect("valid");
        assert!(loaded.key_history(&other).is_err());
        assert!(rotate(dir.path(), &other, Timestamp(t2.0 + 1)).is_err());
        // A clock that went back is refused rather than dating a rotation before the last.
        let err = rotate(dir.path(), &node(), t1).expect_err("clock went back");
        assert!(err.to_string().contains("clock"), "{err}");
    }

    #[test]
    fn a_rotation_is_dated_after_the_newest_signed_event() {
        let now = Timestamp(1_700_000_000_000);
        assert_eq!(rotation_ts(now, None), now);
        assert_eq!(rotation_ts(now, Some(Timestamp(now.0 - 5))), now);
        assert_eq!(rotation_ts(now, Some(now)), Timestamp(now.0 + 1));
        assert_eq!(
            rotation_ts(now, Some(Timestamp(now.0 + 60_000))),
            Timestamp(now.0 + 60_001)
        );
    }

    #[test]
    fn an_interrupted_rotation_is_finished_or_forgotten_on_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        NodeIdentity::load_or_create(dir.path()).expect("create");
        let rotated = rotate(dir.path(), &node(), Timestamp(1_700_000_000_000)).expect("rotate");
        // A crash after the rotation was recorded but before the key moved: the old key is
        // back in node.key and the new one waits in node.key.next.
        fs::rename(dir.path().join(KEY_FILE), dir.path().join(NEXT_KEY_FILE)).expect("mv");
        fs::copy(&rotated.retired_path, dir.path().join(KEY_FILE)).expect("cp");
        let loaded = NodeIdentity::load(dir.path()).expect("finished");
        assert_eq!(loaded.public_key(), rotated.new.public_key());
        assert!(!dir.path().join(NEXT_KEY_FILE).exists());

        // A crash before the rotation was recorded: the next key is dropped.
        create_key(&dir.path().join(NEXT_KEY_FILE)).expect("stray next key");
        let loaded = NodeIdentity::load(dir.path()).expect("forgotten");
        assert_eq!(loaded.public_key(), rotated.new.public_key());
        assert!(!dir.path().join(NEXT_KEY_FILE).exists());
    }

    #[test]
    fn rotating_without_a_key_creates_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = rotate(dir.path(), &node(), Timestamp(1)).expect_err("no key");
        assert!(matches!(err, IdentityError::Missing { .. }), "{err}");
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 0);
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
