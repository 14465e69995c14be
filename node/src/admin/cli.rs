//! `winichat admin …` commands that act through the admin API (spec/admin.md §5).
//!
//! Each command is one admin API request. When the node runs (its data directory is locked),
//! the request goes to it over HTTP with the operator token it wrote ([`super::operator`]), so
//! what needs the running node — closing a disabled user's sockets, pushing a purge to
//! members, a deny applied to live links — happens there at once. When the node is stopped,
//! this process holds the data directory's lock and answers the same request with the same
//! router, in process, on the database; nothing is live then to act on.

use std::io::BufRead as _;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use clap::Subcommand;
use serde_json::Value;
use tower::ServiceExt as _;

use super::{Admin, Parts, operator};
use crate::config::Config;
use crate::data_lock::DataDirLock;
use crate::error::NodeError;
use crate::identity::{self, NodeIdentity};
use crate::storage;

/// The admin commands that go through the admin API.
#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// List accounts (name, flags, media used and quota), by name.
    ListUsers {
        /// Only names or display names starting with this.
        #[arg(value_name = "PREFIX", default_value = "")]
        query: String,
        /// Start after this name (paging).
        #[arg(long, value_name = "NAME")]
        after: Option<String>,
        /// At most this many [default: 50, at most 200].
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
        /// Print the JSON answer.
        #[arg(long)]
        json: bool,
    },
    /// Disable an account: no login or refresh; its sessions end and its sockets close.
    DisableUser {
        /// The user name.
        #[arg(value_name = "NAME")]
        user: String,
    },
    /// Enable a disabled account again.
    EnableUser {
        /// The user name.
        #[arg(value_name = "NAME")]
        user: String,
    },
    /// Delete an account with its data: its messages become tombstones in the groups homed
    /// here, it leaves them (groups it owns pass to their most senior member, or are deleted
    /// when it is alone), its media is released, its name stays taken.
    DeleteUser {
        /// The user name.
        #[arg(value_name = "NAME")]
        user: String,
        /// Confirm: this cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// Set a new password (printed, or read from stdin) and end every session of the account.
    ResetPassword {
        /// The user name.
        #[arg(value_name = "NAME")]
        user: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Give an account the admin flag (it may then use /api/admin).
    MakeAdmin {
        /// The user name.
        #[arg(value_name = "NAME")]
        user: String,
    },
    /// Take the admin flag from an account.
    UnmakeAdmin {
        /// The user name.
        #[arg(value_name = "NAME")]
        user: String,
    },
    /// Set an account's media quota in bytes, or `default` for the node's.
    SetQuota {
        /// The user name.
        #[arg(value_name = "NAME")]
        user: String,
        /// Bytes, or `default`.
        #[arg(value_name = "BYTES")]
        quota: String,
    },
    /// List chats (members, events, bytes), by id.
    ListGroups {
        /// Start after this group id (paging).
        #[arg(long, value_name = "GROUP")]
        after: Option<String>,
        /// At most this many [default: 50, at most 200].
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
        /// Print the JSON answer.
        #[arg(long)]
        json: bool,
    },
    /// Purge a group homed here: deleted for every member (they are told), its content erased.
    PurgeGroup {
        /// The group id, e.g. !k3x9q2:chat.example.org.
        #[arg(value_name = "GROUP")]
        group: String,
        /// Confirm: this cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// Show the federation allow and deny lists.
    FederationLists,
    /// Allow a node (once any node is allowed, only allowed nodes federate).
    FederationAllow {
        /// The node name.
        #[arg(value_name = "NODE")]
        node: String,
    },
    /// Deny a node: its links close and its requests are refused, at once.
    FederationDeny {
        /// The node name.
        #[arg(value_name = "NODE")]
        node: String,
    },
    /// Take a node off the allow or deny list.
    FederationUnlist {
        /// The node name.
        #[arg(value_name = "NODE")]
        node: String,
    },
}

/// One admin API request.
struct ApiRequest {
    method: Method,
    path: String,
    body: Option<Value>,
}

/// Percent-encodes a path segment (user names, group ids, node names).
fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn read_password() -> Result<String, NodeError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| NodeError::Usage(format!("cannot read the password: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn query(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", segment(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

impl ApiCommand {
    fn request(&self) -> Result<ApiRequest, NodeError> {
        let user_path =
            |user: &str, tail: &str| format!("/api/admin/users/{}{tail}", segment(user));
        let req =
            |method: Method, path: String, body: Option<Value>| ApiRequest { method, path, body };
        Ok(match self {
            ApiCommand::ListUsers {
                query: q,
                after,
                limit,
                ..
            } => req(
                Method::GET,
                format!(
                    "/api/admin/users{}",
                    query(&[
                        ("q", Some(q.clone()).filter(|q| !q.is_empty())),
                        ("after", after.clone()),
                        ("limit", limit.map(|l| l.to_string())),
                    ])
                ),
                None,
            ),
            ApiCommand::DisableUser { user } => {
                req(Method::POST, user_path(user, "/disable"), None)
            }
            ApiCommand::EnableUser { user } => req(Method::POST, user_path(user, "/enable"), None),
            ApiCommand::DeleteUser { user, yes } => {
                if !yes {
                    return Err(NodeError::Usage(
                        "deleting an account cannot be undone: add --yes".into(),
                    ));
                }
                req(Method::DELETE, user_path(user, ""), None)
            }
            ApiCommand::ResetPassword {
                user,
                password_stdin,
            } => {
                let body = if *password_stdin {
                    serde_json::json!({ "password": read_password()? })
                } else {
                    serde_json::json!({})
                };
                req(Method::POST, user_path(user, "/password"), Some(body))
            }
            ApiCommand::MakeAdmin { user } => req(
                Method::PUT,
                user_path(user, "/admin"),
                Some(serde_json::json!({ "admin": true })),
            ),
            ApiCommand::UnmakeAdmin { user } => req(
                Method::PUT,
                user_path(user, "/admin"),
                Some(serde_json::json!({ "admin": false })),
            ),
            ApiCommand::SetQuota { user, quota } => {
                let quota: Option<u64> = match quota.as_str() {
                    "default" => None,
                    text => Some(text.parse().map_err(|_| {
                        NodeError::Usage(format!(
                            "quota {text:?}: expected a number of bytes or \"default\""
                        ))
                    })?),
                };
                req(
                    Method::PUT,
                    user_path(user, "/quota"),
                    Some(serde_json::json!({ "quota_bytes": quota })),
                )
            }
            ApiCommand::ListGroups { after, limit, .. } => req(
                Method::GET,
                format!(
                    "/api/admin/groups{}",
                    query(&[
                        ("after", after.clone()),
                        ("limit", limit.map(|l| l.to_string())),
                    ])
                ),
                None,
            ),
            ApiCommand::PurgeGroup { group, yes } => {
                if !yes {
                    return Err(NodeError::Usage(
                        "purging a group cannot be undone: add --yes".into(),
                    ));
                }
                req(
                    Method::DELETE,
                    format!("/api/admin/groups/{}", segment(group)),
                    None,
                )
            }
            ApiCommand::FederationLists => req(Method::GET, "/api/admin/federation".into(), None),
            ApiCommand::FederationAllow { node } | ApiCommand::FederationDeny { node } => {
                let list = if matches!(self, ApiCommand::FederationAllow { .. }) {
                    "allow"
                } else {
                    "deny"
                };
                req(
                    Method::PUT,
                    format!("/api/admin/federation/{}", segment(node)),
                    Some(serde_json::json!({ "list": list })),
                )
            }
            ApiCommand::FederationUnlist { node } => req(
                Method::DELETE,
                format!("/api/admin/federation/{}", segment(node)),
                None,
            ),
        })
    }

    /// Prints a successful answer for people (or as JSON when asked).
    fn print(&self, answer: &Value) {
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let num = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
        let flag = |v: &Value, k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
        match self {
            ApiCommand::ListUsers { json: true, .. }
            | ApiCommand::ListGroups { json: true, .. } => {
                println!("{answer}");
            }
            ApiCommand::ListUsers { .. } => {
                for u in answer["users"].as_array().into_iter().flatten() {
                    let mut flags = Vec::new();
                    for f in ["admin", "disabled", "deleted"] {
                        if flag(u, f) {
                            flags.push(f);
                        }
                    }
                    println!(
                        "{}\t{}\tmedia {} of {} bytes\t{}",
                        text(u, "id"),
                        if flags.is_empty() {
                            "-".into()
                        } else {
                            flags.join(",")
                        },
                        num(u, "media_bytes"),
                        num(u, "quota_bytes"),
                        text(u, "display_name"),
                    );
                }
                if let Some(next) = answer.get("next").and_then(Value::as_str) {
                    println!("(more: --after {next})");
                }
            }
            ApiCommand::ListGroups { .. } => {
                for g in answer["groups"].as_array().into_iter().flatten() {
                    println!(
                        "{}\t{}\t{} members\t{} events\t{} bytes{}\t{}",
                        text(g, "id"),
                        text(g, "kind"),
                        num(g, "members"),
                        num(g, "events"),
                        num(g, "bytes"),
                        if flag(g, "deleted") { "\tdeleted" } else { "" },
                        text(g, "name"),
                    );
                }
                if let Some(next) = answer.get("next").and_then(Value::as_str) {
                    println!("(more: --after {next})");
                }
            }
            ApiCommand::DisableUser { user } => println!(
                "disabled {user} ({} sessions ended)",
                num(answer, "sessions_revoked")
            ),
            ApiCommand::EnableUser { user } => println!("enabled {user}"),
            ApiCommand::DeleteUser { user, .. } => {
                println!(
                    "deleted {user}: {} messages deleted, {} groups left, {} handed over, \
                     {} deleted, {} direct chats kept; groups of other nodes: {} left of {}",
                    num(answer, "messages_deleted"),
                    num(answer, "groups_left"),
                    num(answer, "groups_transferred"),
                    num(answer, "groups_deleted"),
                    num(answer, "direct_chats"),
                    num(answer, "remote_groups_left"),
                    num(answer, "remote_groups"),
                );
                let unreachable = num(answer, "remote_groups_unreachable");
                if unreachable > 0 {
                    println!(
                        "{unreachable} groups of other nodes untouched: their home could not \
                         be reached (the user's messages and membership stay there)"
                    );
                }
                let owned = num(answer, "remote_groups_owned");
                if owned > 0 {
                    println!("{owned} groups of other nodes untouched: owned by {user}");
                }
            }
            ApiCommand::ResetPassword { user, .. } => {
                println!("password of {user} reset; every session ended");
                if let Some(p) = answer.get("password").and_then(Value::as_str) {
                    println!("password: {p}");
                }
            }
            ApiCommand::MakeAdmin { user } => println!("{user} is an admin"),
            ApiCommand::UnmakeAdmin { user } => println!("{user} is no longer an admin"),
            ApiCommand::SetQuota { user, quota } => println!("quota of {user}: {quota}"),
            ApiCommand::PurgeGroup { group, .. } => println!("purged {group}"),
            ApiCommand::FederationLists
            | ApiCommand::FederationAllow { .. }
            | ApiCommand::FederationDeny { .. }
            | ApiCommand::FederationUnlist { .. } => {
                for list in ["allow", "deny"] {
                    for e in answer[list].as_array().into_iter().flatten() {
                        println!(
                            "{list}\t{}{}",
                            text(e, "node"),
                            if flag(e, "configured") {
                                "\t(config file)"
                            } else {
                                ""
                            }
                        );
                    }
                }
            }
        }
    }
}

/// Runs one command: against the running node, or in process when it is stopped.
pub fn run(config: Config, command: ApiCommand) -> Result<(), NodeError> {
    let request = command.request()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| NodeError::Internal(format!("cannot start the async runtime: {e}")))?;
    let (status, answer) = runtime.block_on(async move {
        identity::prepare_data_dir(&config.data_dir)?;
        match DataDirLock::acquire(&config.data_dir) {
            Ok(lock) => {
                let result = in_process(&config, request).await;
                drop(lock);
                result
            }
            Err(NodeError::DataDirInUse { .. }) => to_running_node(&config, request).await,
            Err(e) => Err(e),
        }
    })?;
    if status.is_success() {
        command.print(&answer);
        Ok(())
    } else {
        let message = answer
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("the node refused the request");
        Err(NodeError::Usage(format!("{message} ({status})")))
    }
}

/// Sends the request to the running node with its operator token.
async fn to_running_node(
    config: &Config,
    request: ApiRequest,
) -> Result<(StatusCode, Value), NodeError> {
    let access = operator::read(&config.data_dir).map_err(|e| {
        NodeError::Usage(format!(
            "the node is running but its {} cannot be read ({e}); run this as the node's user",
            operator::FILE
        ))
    })?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .map_err(|e| NodeError::Internal(format!("cannot build an HTTP client: {e}")))?;
    let method = reqwest::Method::from_bytes(request.method.as_str().as_bytes())
        .map_err(|e| NodeError::Internal(e.to_string()))?;
    let mut builder = client
        .request(method, format!("{}{}", access.url, request.path))
        .bearer_auth(&access.token);
    if let Some(body) = &request.body {
        builder = builder.json(body);
    }
    let response = builder.send().await.map_err(|e| {
        NodeError::Usage(format!(
            "cannot reach the running node at {}: {e}",
            access.url
        ))
    })?;
    let status = StatusCode::from_u16(response.status().as_u16())
        .map_err(|e| NodeError::Internal(e.to_string()))?;
    let bytes = response
        .bytes()
        .await
        .map_err(|e| NodeError::Usage(format!("the node's answer was cut: {e}")))?;
    Ok((status, parse_answer(&bytes)))
}

fn parse_answer(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes).unwrap_or(Value::Null)
    }
}

/// Nobody is connected to a stopped node: pushes go nowhere.
struct NoPushes;

impl crate::chat::Pusher for NoPushes {
    fn push(&self, _: &[winichat_protocol::ids::UserId], _: &str, _: &ciborium::Value) {}
}

/// Answers the request in this process, on the database of the stopped node.
async fn in_process(
    config: &Config,
    request: ApiRequest,
) -> Result<(StatusCode, Value), NodeError> {
    let node_identity = NodeIdentity::load_or_create(&config.data_dir)?;
    let db = storage::open(&config.database_url, &config.data_dir).await?;
    let result = async {
        node_identity.check_database(&db, &config.name).await?;
        let auth = crate::auth::Auth::new(
            db.clone(),
            config.name.clone(),
            &config.data_dir,
            config.auth.clone(),
        )?;
        let chats = crate::chat::Chats::new(
            db.clone(),
            config.name.clone(),
            node_identity.signing_key().clone(),
            Arc::new(NoPushes),
        );
        let peers = crate::federation::PeerDirectory::new(config.name.clone(), &config.federation)
            .map_err(|e| NodeError::Internal(e.to_string()))?;
        let token = crate::auth::new_secret_token()
            .map_err(|_| NodeError::Internal("no randomness for a token".into()))?;
        let admin = Admin::start(Parts {
            db: db.clone(),
            auth,
            chats,
            peers: Arc::new(peers),
            configured_allow: config.federation.allow.clone(),
            configured_deny: config.federation.deny.clone(),
            operator_token: Some(token.clone()),
            default_quota: config.media.quota_bytes,
        })
        .await?;
        let body = match &request.body {
            Some(v) => {
                Body::from(serde_json::to_vec(v).map_err(|e| NodeError::Internal(e.to_string()))?)
            }
            None => Body::empty(),
        };
        let http_request = Request::builder()
            .method(request.method)
            .uri(&request.path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body)
            .map_err(|e| NodeError::Internal(e.to_string()))?;
        let response = super::http::router(admin)
            .oneshot(http_request)
            .await
            .map_err(|e| NodeError::Internal(e.to_string()))?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024)
            .await
            .map_err(|e| NodeError::Internal(e.to_string()))?;
        Ok::<_, NodeError>((status, parse_answer(&bytes)))
    }
    .await;
    db.close().await;
    result
}
