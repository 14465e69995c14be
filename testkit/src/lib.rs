//! Real nodes and real databases for tests.

pub mod ceiling;
pub mod client;
pub mod cluster;
pub mod loadgen;
pub mod media_fixtures;
pub mod node;
pub mod postgres;
pub mod relay;
pub mod storage;
pub mod users;
