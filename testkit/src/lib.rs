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

/// Makes tests of `async fn name(backend: Backend)` cases of the calling module: a `mod sqlite`
/// and a `mod postgres`, each with one multi-threaded `#[tokio::test]` per named case
/// (`sqlite::name`, `postgres::name`). Two worker threads unless the list starts with
/// `worker_threads = N;`.
#[macro_export]
macro_rules! on_both {
    (worker_threads = $threads:literal; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = $threads)]
                async fn $name() {
                    super::$name($crate::node::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = $threads)]
                async fn $name() {
                    super::$name($crate::node::Backend::Postgres).await;
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::on_both!(worker_threads = 2; $($name),*);
    };
}
