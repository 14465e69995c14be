//! The local operator's way in: at start the node writes `admin-api.json` into its data
//! directory (mode 0600), holding the URL of its HTTP listener and a fresh random token that
//! the admin API accepts like an admin's access token. `winichat admin …` on the same machine
//! reads it to reach the running node. Whoever can read the data directory can read the
//! database and the keys anyway, so the file gives nobody more than they have.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// File name inside the data directory.
pub const FILE: &str = "admin-api.json";

/// What the file holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OperatorAccess {
    /// `http://ADDR:PORT` of the node's HTTP listener, reachable from this machine.
    pub url: String,
    /// The operator token (Bearer).
    pub token: String,
}

/// Where the file lives.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

/// A URL for `addr` from this machine: an unspecified address becomes loopback.
pub fn local_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// Writes the file (replacing any old one) with only the owner allowed to read it.
pub fn write(data_dir: &Path, access: &OperatorAccess) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let final_path = path(data_dir);
    let tmp = data_dir.join(format!("{FILE}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    let text = serde_json::to_vec(access).map_err(std::io::Error::other)?;
    file.write_all(&text)?;
    file.sync_all()?;
    std::fs::rename(&tmp, &final_path)
}

/// Reads the file, if the node wrote one.
pub fn read(data_dir: &Path) -> std::io::Result<OperatorAccess> {
    let text = std::fs::read(path(data_dir))?;
    serde_json::from_slice(&text).map_err(std::io::Error::other)
}

/// Removes the file (the node stopped); a missing file is fine.
pub fn remove(data_dir: &Path) {
    let _ = std::fs::remove_file(path(data_dir));
}
