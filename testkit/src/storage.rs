//! The storage test harness: one database per test, on SQLite or PostgreSQL, and
//! [`both_backends!`](crate::both_backends) to run one test body on each.

use sqlx::Connection as _;
use tempfile::TempDir;
use winichat_node::storage::{self, Database};

use crate::postgres::TestDatabase;

/// A database opened for one test, plus what is needed to reopen or tamper with it.
#[derive(Debug)]
pub struct StorageHarness {
    /// The opened database.
    pub db: Database,
    url: String,
    data_dir: TempDir,
    /// Kept so the PostgreSQL database lives as long as the test.
    _pg: Option<TestDatabase>,
}

impl StorageHarness {
    /// A fresh SQLite file in a temporary directory.
    pub async fn sqlite() -> StorageHarness {
        let data_dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", data_dir.path().join("test.db").display());
        let db = storage::open(&url, data_dir.path())
            .await
            .expect("open sqlite");
        StorageHarness {
            db,
            url,
            data_dir,
            _pg: None,
        }
    }

    /// A fresh PostgreSQL database, dropped after the test.
    pub async fn postgres() -> StorageHarness {
        let pg = TestDatabase::create().await;
        let data_dir = tempfile::tempdir().expect("tempdir");
        let url = pg.url().to_owned();
        let db = storage::open(&url, data_dir.path())
            .await
            .expect("open postgres");
        StorageHarness {
            db,
            url,
            data_dir,
            _pg: Some(pg),
        }
    }

    /// Opens the same database again (migrations run again).
    pub async fn reopen(&self) -> Database {
        storage::open(&self.url, self.data_dir.path())
            .await
            .expect("reopen")
    }

    /// Runs one statement behind the storage layer's back (SQL common to both dialects).
    pub async fn tamper(&self, sql: &'static str) {
        if let Some(path) = self.url.strip_prefix("sqlite://") {
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
                .await
                .expect("connect sqlite");
            sqlx::query(sql).execute(&mut conn).await.expect("tamper");
        } else {
            let mut conn = sqlx::PgConnection::connect(&self.url)
                .await
                .expect("connect postgres");
            sqlx::query(sql).execute(&mut conn).await.expect("tamper");
        }
    }
}

/// Generates `mod sqlite` and `mod postgres`, each with one `#[tokio::test]` per named test
/// function `async fn name(h: StorageHarness)` in the calling module.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::storage::StorageHarness::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::storage::StorageHarness::postgres().await).await;
                }
            )*
        }
    };
}
