//! The names of the node's metrics, one place for the code, the tests and the dashboard
//! (`docs/grafana/winichat.json`).

/// Gauge, label `listener` (`http`, `redirect`, `metrics`): TCP connections open under the
/// listener's caps (WebSockets included).
pub const HTTP_CONNECTIONS_OPEN: &str = "winichat_http_connections_open";
/// Gauge: open WebSocket gateway connections (authenticated).
pub const GATEWAY_CONNECTIONS: &str = "winichat_gateway_connections";
/// Gauge: users with at least one open gateway connection.
pub const GATEWAY_USERS: &str = "winichat_gateway_authenticated_users";
/// Counter, labels `method` (`unknown` for a name the node does not know) and `outcome`
/// (`ok` or the error code): gateway requests answered.
pub const GATEWAY_REQUESTS: &str = "winichat_gateway_requests_total";
/// Counter: events durably committed (this node's own groups and its replicas).
pub const EVENT_COMMITS: &str = "winichat_event_commits_total";
/// Histogram: time to write one commit batch (one transaction).
pub const COMMIT_SECONDS: &str = "winichat_commit_batch_seconds";
/// Histogram: events in one commit batch.
pub const COMMIT_BATCH_EVENTS: &str = "winichat_commit_batch_events";
/// Histogram: time to hand one committed event's pushes to every local recipient's queue.
pub const PUSH_FANOUT_SECONDS: &str = "winichat_push_fanout_seconds";
/// Gauge: bytes the gateway's resume windows hold.
pub const RESUME_WINDOW_BYTES: &str = "winichat_resume_window_bytes";
/// Gauge, label `state` (`in_use`, `idle`): database pool connections.
pub const DB_POOL_CONNECTIONS: &str = "winichat_db_pool_connections";
/// Gauge: bytes of stored media originals.
pub const MEDIA_STORED_BYTES: &str = "winichat_media_stored_bytes";
/// Gauge: media uploads streaming now.
pub const MEDIA_UPLOADS_IN_FLIGHT: &str = "winichat_media_uploads_in_flight";
/// Gauge, label `peer`: events waiting in the federation outbox towards the peer.
pub const OUTBOX_DEPTH: &str = "winichat_federation_outbox_depth";
/// Gauge, label `peer`: age of the oldest waiting event towards the peer (0 when none).
pub const OUTBOX_OLDEST_AGE_SECONDS: &str = "winichat_federation_outbox_oldest_age_seconds";
/// Gauge: the process's resident memory (Prometheus' usual name).
pub const PROCESS_RSS_BYTES: &str = "process_resident_memory_bytes";
/// Gauge: the process's open file descriptors (Prometheus' usual name).
pub const PROCESS_OPEN_FDS: &str = "process_open_fds";
