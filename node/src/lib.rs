//! The WiniChat node: everything that does IO. See `docs/architecture.md`.

pub mod admin;
pub mod api;
pub mod auth;
pub mod backup;
pub mod chat;
pub mod cli;
pub mod client_addr;
pub mod config;
pub mod connections;
pub mod data_lock;
pub mod error;
pub mod federation;
pub mod identity;
pub mod logging;
pub mod media;
pub mod server;
pub mod storage;
pub mod telemetry;

/// The allocator the `winichat` binary runs with, for programs that run a node in-process (its
/// benchmarks) to declare the same: `#[global_allocator] static A: winichat_node::Allocator =
/// winichat_node::Allocator {};`. glibc's malloc was about a sixth of the node's CPU under load
/// (its free-list upkeep: `malloc_consolidate`, `unlink_chunk`).
pub type Allocator = mimalloc::MiMalloc;
