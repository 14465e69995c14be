//! `GET /readyz`: may this node be sent traffic now?

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::storage::Database;

/// How long the database may take over the checks. Short, as for `/healthz`.
const DB_TIMEOUT: Duration = Duration::from_secs(2);

/// What `/readyz` checks: the database answers, its schema is this build's, and the node's
/// listeners are bound and served (from the end of start-up until shutdown begins).
#[derive(Debug, Clone)]
pub struct Readiness {
    db: Database,
    serving: Arc<AtomicBool>,
}

/// The outcome of each check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadyChecks {
    /// The database answered a query.
    pub database: bool,
    /// Every migration of this build is applied.
    pub migrations: bool,
    /// The listeners are bound and the node is not shutting down.
    pub listeners: bool,
}

impl ReadyChecks {
    /// Whether every check passed.
    pub fn ready(self) -> bool {
        self.database && self.migrations && self.listeners
    }
}

impl Readiness {
    /// Not serving yet: start-up marks it once every listener is bound.
    pub fn new(db: Database) -> Readiness {
        Readiness {
            db,
            serving: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Marks the listeners as served (true) or draining (false).
    pub fn set_serving(&self, serving: bool) {
        self.serving.store(serving, Ordering::Relaxed);
    }

    /// Runs the checks.
    pub async fn check(&self) -> ReadyChecks {
        let listeners = self.serving.load(Ordering::Relaxed);
        let migrations = tokio::time::timeout(DB_TIMEOUT, self.db.migrations_applied()).await;
        let (database, migrations) = match migrations {
            Ok(Ok(applied)) => (true, applied),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: database does not answer");
                (false, false)
            }
            Err(_) => {
                tracing::warn!(timeout = ?DB_TIMEOUT, "readiness: database timed out");
                (false, false)
            }
        };
        ReadyChecks {
            database,
            migrations,
            listeners,
        }
    }
}

/// `GET /readyz` — `200 {"status":"ready","checks":{…}}` when the database answers within two
/// seconds with every migration of this build applied and the listeners are served;
/// otherwise `503 {"status":"not_ready","checks":{…}}`, each check `"ok"` or `"failing"`.
/// Causes are logged, never sent.
pub async fn get(State(readiness): State<Readiness>) -> (StatusCode, Json<Value>) {
    let checks = readiness.check().await;
    let word = |ok: bool| if ok { "ok" } else { "failing" };
    let body = json!({
        "status": if checks.ready() { "ready" } else { "not_ready" },
        "checks": {
            "database": word(checks.database),
            "migrations": word(checks.migrations),
            "listeners": word(checks.listeners),
        },
    });
    let status = if checks.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}
