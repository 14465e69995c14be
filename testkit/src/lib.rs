//! Real nodes and real databases for tests.

pub mod node;
pub mod postgres;
pub mod storage;
