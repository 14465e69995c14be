//! The storage test harness: one database per test, on SQLite or PostgreSQL, and
//! [`both_backends!`](crate::both_backends) to run one test body on each.

use sqlx::Connection as _;
use sqlx::{Column as _, Row};
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

    /// Another fresh database of the same backend.
    pub async fn fresh_like(&self) -> StorageHarness {
        if self._pg.is_some() {
            StorageHarness::postgres().await
        } else {
            StorageHarness::sqlite().await
        }
    }

    /// Every row of `table` as text (NULL as `NULL`, blobs in hex), sorted: for comparing two
    /// databases' contents.
    pub async fn dump(&self, table: &str) -> Vec<Vec<String>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT * FROM {table}"));
        let mut rows: Vec<Vec<String>> = if let Some(path) = self.url.strip_prefix("sqlite://") {
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
                .await
                .expect("connect sqlite");
            let rows = sqlx::query(sql).fetch_all(&mut conn).await.expect("dump");
            rows.iter().map(row_text).collect()
        } else {
            let mut conn = sqlx::PgConnection::connect(&self.url)
                .await
                .expect("connect postgres");
            let rows = sqlx::query(sql).fetch_all(&mut conn).await.expect("dump");
            rows.iter().map(row_text).collect()
        };
        rows.sort();
        rows
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

/// A row's columns as text, whatever their types (the types the schema uses: integers,
/// booleans, text, blobs).
fn row_text<R>(row: &R) -> Vec<String>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i32>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<bool>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    (0..row.columns().len())
        .map(|i| {
            let text = if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                v.map(|v| v.to_string())
            } else if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
                v.map(|v| v.to_string())
            } else if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
                v.map(|v| i64::from(v).to_string())
            } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                v
            } else if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
                v.map(|bytes| bytes.iter().map(|b| format!("{b:02x}")).collect())
            } else {
                panic!(
                    "column {} of a dumped row has a type the dump does not read",
                    row.columns()[i].name()
                )
            };
            text.unwrap_or_else(|| "NULL".to_owned())
        })
        .collect()
}
