//! Operator views of federation: `winichat federation status` and `winichat federation
//! log-hash GROUP`.
//!
//! Both read the database directly, so they work while the node runs (SQLite in WAL mode lets a
//! second process read) and while it is stopped. The cores ([`status`], [`log_hash`]) are
//! library functions, so tests can compare nodes without spawning the binary.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use winichat_protocol::Timestamp;
use winichat_protocol::ids::GroupId;

use crate::cli::FederationCommand;
use crate::config::Config;
use crate::error::NodeError;
use crate::identity::NodeIdentity;
use crate::storage::{self, Database, LogHash, StorageError};

/// How many recent faults [`status`] looks through for each faulty group's latest evidence.
const RECENT_FAULTS: u32 = 100;

/// The hash of this node's copy of `group`'s log (see [`storage::LogHasher`] for what is
/// hashed); `None` if no event of the group is stored here.
pub async fn log_hash(db: &Database, group: &GroupId) -> Result<Option<LogHash>, StorageError> {
    db.events().log_hash(group).await
}

/// `<head seq> <sha256 hex>`, the line `winichat federation log-hash` prints.
pub fn format_log_hash(hash: &LogHash) -> String {
    format!("{} {}", hash.head, hex::encode(hash.hash))
}

/// Federation as this node's database sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FederationStatus {
    /// When the status was taken (ms since the epoch); ages are relative to it.
    pub now: u64,
    /// Every stored peer and every destination with undelivered events, sorted by name.
    pub peers: Vec<PeerStatus>,
    /// Groups whose replica is marked forked or diverged, sorted by group id.
    pub faulty_groups: Vec<FaultyGroupStatus>,
}

/// One peer: its link and its outbox backlog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerStatus {
    /// The peer's node name.
    pub node: String,
    /// Whether its key is stored (a destination may have rows before its key is fetched).
    pub known: bool,
    /// When it last reached us or answered us (ms since the epoch).
    pub last_contact_at: Option<u64>,
    /// Events waiting to be delivered to it.
    pub outbox_depth: u64,
    /// Event time of the oldest waiting event (ms since the epoch).
    pub oldest_entry_at: Option<u64>,
    /// `now - oldest_entry_at`, in ms.
    pub oldest_entry_age_ms: Option<u64>,
    /// The most failed delivery attempts of one waiting event.
    pub max_attempts: u32,
    /// Why the first failing delivery failed, if one did.
    pub delivery_error: Option<String>,
    /// Why the last connection attempt failed, if it did.
    pub link_error: Option<String>,
}

/// A group marked with a fault, and its latest evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultyGroupStatus {
    /// The group id.
    pub group: String,
    /// `"forked"` or `"diverged"`.
    pub fault: String,
    /// The seq of its latest recorded fault, if among the recent ones.
    pub seq: Option<u64>,
    /// Why, in words.
    pub reason: Option<String>,
    /// When it was detected (ms since the epoch).
    pub at: Option<u64>,
}

/// Collects the [`FederationStatus`] at `now`.
pub async fn status(db: &Database, now: Timestamp) -> Result<FederationStatus, StorageError> {
    let mut peers: BTreeMap<String, PeerStatus> = BTreeMap::new();
    for peer in db.peers().list().await? {
        peers.insert(
            peer.node.to_string(),
            PeerStatus {
                node: peer.node.to_string(),
                known: true,
                last_contact_at: peer.last_contact_at.map(|t| t.0),
                outbox_depth: 0,
                oldest_entry_at: None,
                oldest_entry_age_ms: None,
                max_attempts: 0,
                delivery_error: None,
                link_error: peer.last_error,
            },
        );
    }
    for backlog in db.outbox().status().await? {
        let name = backlog.destination.to_string();
        let entry = peers.entry(name.clone()).or_insert_with(|| PeerStatus {
            node: name,
            known: false,
            last_contact_at: None,
            outbox_depth: 0,
            oldest_entry_at: None,
            oldest_entry_age_ms: None,
            max_attempts: 0,
            delivery_error: None,
            link_error: None,
        });
        entry.outbox_depth = backlog.depth;
        entry.oldest_entry_at = Some(backlog.oldest_created_at.0);
        entry.oldest_entry_age_ms = Some(now.0.saturating_sub(backlog.oldest_created_at.0));
        entry.max_attempts = backlog.max_attempts;
        entry.delivery_error = backlog.last_error;
    }

    let faulty = db.faults().faulty_groups().await?;
    let mut faulty_groups = Vec::with_capacity(faulty.len());
    if !faulty.is_empty() {
        let recent = db.faults().all_faults(RECENT_FAULTS).await?;
        for (group, kind) in faulty {
            // Newest first: the first match is the latest evidence of this kind.
            let latest = recent.iter().find(|f| f.group == group && f.kind == kind);
            faulty_groups.push(FaultyGroupStatus {
                group: group.to_string(),
                fault: kind.as_str().to_owned(),
                seq: latest.map(|f| f.seq),
                reason: latest.map(|f| f.reason.clone()),
                at: latest.map(|f| f.at.0),
            });
        }
    }

    Ok(FederationStatus {
        now: now.0,
        peers: peers.into_values().collect(),
        faulty_groups,
    })
}

/// The status as a table for people, ending with a newline.
pub fn render_status(status: &FederationStatus) -> String {
    let mut out = String::new();
    if status.peers.is_empty() {
        out.push_str("no peers and no pending deliveries\n");
    } else {
        let header = [
            "NODE",
            "LAST CONTACT",
            "OUTBOX",
            "OLDEST",
            "ATTEMPTS",
            "LAST ERROR",
        ]
        .map(str::to_owned);
        let rows: Vec<[String; 6]> = status
            .peers
            .iter()
            .map(|p| {
                let node = if p.known {
                    p.node.clone()
                } else {
                    format!("{} (key not stored)", p.node)
                };
                [
                    node,
                    p.last_contact_at
                        .map(|at| format!("{} ago", age(status.now.saturating_sub(at))))
                        .unwrap_or_else(|| "never".to_owned()),
                    p.outbox_depth.to_string(),
                    p.oldest_entry_age_ms
                        .map(age)
                        .unwrap_or_else(|| "-".to_owned()),
                    p.max_attempts.to_string(),
                    one_line(p.delivery_error.as_deref().or(p.link_error.as_deref())),
                ]
            })
            .collect();
        let mut widths = header.clone().map(|h| h.chars().count());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<width$}  "));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    if status.faulty_groups.is_empty() {
        out.push_str("no forked or diverged groups\n");
    } else {
        out.push_str("groups with faults:\n");
        for g in &status.faulty_groups {
            out.push_str(&format!("  {} {}", g.group, g.fault.to_uppercase()));
            if let Some(seq) = g.seq {
                out.push_str(&format!(" at seq {seq}"));
            }
            if let Some(reason) = &g.reason {
                out.push_str(&format!(": {}", one_line(Some(reason))));
            }
            out.push('\n');
        }
    }
    out
}

/// `ms` as a short age: `850ms`, `42s`, `17m`, `5h`, `3d`.
fn age(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{}s", ms / 1_000),
        60_000..3_600_000 => format!("{}m", ms / 60_000),
        3_600_000..86_400_000 => format!("{}h", ms / 3_600_000),
        _ => format!("{}d", ms / 86_400_000),
    }
}

/// A stored error text fit for one table cell.
fn one_line(text: Option<&str>) -> String {
    match text {
        Some(t) => t.replace(['\n', '\r', '\t'], " "),
        None => "-".to_owned(),
    }
}

fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Timestamp(ms)
}

/// Runs one `winichat federation …` command, printing its result on stdout.
pub fn run(config: Config, command: FederationCommand) -> Result<(), NodeError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| NodeError::Internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        // Read-only: never create a key; a data directory without one holds no federation.
        let node_identity = NodeIdentity::load(&config.data_dir)?;
        let db = storage::open(&config.database_url, &config.data_dir).await?;
        let result = async {
            node_identity.check_database(&db, &config.name).await?;
            execute(&db, command).await
        }
        .await;
        db.close().await;
        result
    })
}

async fn execute(db: &Database, command: FederationCommand) -> Result<(), NodeError> {
    match command {
        FederationCommand::Status { json } => {
            let status = status(db, now()).await?;
            if json {
                let text = serde_json::to_string_pretty(&status)
                    .map_err(|e| NodeError::Internal(format!("cannot encode the status: {e}")))?;
                println!("{text}");
            } else {
                print!("{}", render_status(&status));
            }
            Ok(())
        }
        FederationCommand::LogHash { group } => {
            let group: GroupId = group.parse().map_err(|e| {
                NodeError::Usage(format!(
                    "invalid group id {group:?}: {e} (expected !ID:NODE)"
                ))
            })?;
            match log_hash(db, &group).await? {
                Some(hash) => {
                    println!("{}", format_log_hash(&hash));
                    Ok(())
                }
                None => Err(StorageError::NotFound(format!(
                    "group {group} is not known here (no event of it is stored)"
                ))
                .into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_short_and_round_down() {
        assert_eq!(age(0), "0ms");
        assert_eq!(age(999), "999ms");
        assert_eq!(age(59_999), "59s");
        assert_eq!(age(60_000), "1m");
        assert_eq!(age(7_200_000), "2h");
        assert_eq!(age(3 * 86_400_000 + 5), "3d");
    }

    #[test]
    fn table_lists_peers_and_faults_one_line_each() {
        let status = FederationStatus {
            now: 100_000,
            peers: vec![
                PeerStatus {
                    node: "b.example".into(),
                    known: true,
                    last_contact_at: Some(90_000),
                    outbox_depth: 0,
                    oldest_entry_at: None,
                    oldest_entry_age_ms: None,
                    max_attempts: 0,
                    delivery_error: None,
                    link_error: None,
                },
                PeerStatus {
                    node: "c.example".into(),
                    known: false,
                    last_contact_at: None,
                    outbox_depth: 12,
                    oldest_entry_at: Some(40_000),
                    oldest_entry_age_ms: Some(60_000),
                    max_attempts: 3,
                    delivery_error: Some("timed\nout".into()),
                    link_error: None,
                },
            ],
            faulty_groups: vec![FaultyGroupStatus {
                group: "!g:a.example".into(),
                fault: "forked".into(),
                seq: Some(7),
                reason: Some("two events at seq 7".into()),
                at: Some(1),
            }],
        };
        let text = render_status(&status);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("NODE"), "{text}");
        assert!(
            lines[1].starts_with("b.example") && lines[1].contains("10s ago"),
            "{text}"
        );
        assert!(
            lines[2].contains("c.example (key not stored)")
                && lines[2].contains("never")
                && lines[2].contains(" 12 ")
                && lines[2].contains("1m")
                && lines[2].ends_with("timed out"),
            "{text}"
        );
        assert_eq!(lines[3], "groups with faults:");
        assert_eq!(
            lines[4],
            "  !g:a.example FORKED at seq 7: two events at seq 7"
        );
    }
}
