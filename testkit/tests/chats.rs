//! Chats and groups end to end: real nodes (SQLite and PostgreSQL), real users registered over
//! HTTP, real WebSockets speaking the gateway's chat methods (protocol `gateway::chat`).
//!
//! Every case is an `async fn(Backend)`; [`on_both!`] makes a `#[tokio::test]` of it per
//! backend (`sqlite::name` and `postgres::name`).

/// The cases here run on four worker threads (several clients race in some of them).
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        winichat_testkit::on_both!(worker_threads = 4; $($name),*);
    };
}

#[path = "chats/common.rs"]
mod common;

#[path = "chats/direct.rs"]
mod direct;
#[path = "chats/groups.rs"]
mod groups;
#[path = "chats/invites.rs"]
mod invites;
#[path = "chats/limits.rs"]
mod limits;
#[path = "chats/media.rs"]
mod media;
#[path = "chats/moderation.rs"]
mod moderation;
#[path = "chats/order.rs"]
mod order;
#[path = "chats/paging.rs"]
mod paging;
#[path = "chats/presence.rs"]
mod presence;
#[path = "chats/privacy.rs"]
mod privacy;
#[path = "chats/races.rs"]
mod races;
#[path = "chats/search.rs"]
mod search;
#[path = "chats/spelled_out.rs"]
mod spelled_out;
#[path = "chats/txn.rs"]
mod txn;
#[path = "chats/verify.rs"]
mod verify;
