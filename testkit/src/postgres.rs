//! Throwaway PostgreSQL databases for tests.
//!
//! Each [`TestDatabase`] is a fresh, uniquely named database on the server named by
//! `WINICHAT_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped
//! again when the value is dropped. Tests never skip when PostgreSQL is missing: they fail
//! and say how to provide one.

use std::time::Duration;

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

/// The environment variable naming the PostgreSQL server (an admin URL) used by tests.
pub const TEST_DATABASE_URL_VAR: &str = "WINICHAT_TEST_DATABASE_URL";

/// The server tried when [`TEST_DATABASE_URL_VAR`] is not set.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long to wait for the test server before failing the test.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A database created for one test and dropped (`WITH (FORCE)`) when this value is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates a uniquely named empty database.
    ///
    /// # Panics
    /// If the PostgreSQL server cannot be reached or refuses to create a database: a test that
    /// needs PostgreSQL must fail loudly rather than pass without having run.
    pub async fn create() -> TestDatabase {
        let admin_url = admin_url();
        let mut conn = connect_admin(&admin_url).await;
        let name = unique_name();
        // `name` is generated here from hex digits only, so interpolating it is safe.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        // Tests never crash the server, so waiting for each commit's WAL flush only slows them
        // (suites that append thousands of events one commit at a time). The node itself keeps
        // PostgreSQL's default; this setting lives on the throwaway database alone.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE \"{name}\" SET synchronous_commit = off"
        )))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("cannot configure test database {name}: {e}"));
        drop(conn.close().await);
        let url = with_database(&admin_url, &name);
        TestDatabase {
            admin_url,
            name,
            url,
        }
    }

    /// The URL of the created database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The created database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs inside async tests, where blocking on the test's own runtime would panic;
        // a separate thread with its own small runtime can block freely.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut conn =
                    tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(&admin_url))
                        .await
                        .map_err(|_| "timed out connecting".to_owned())?
                        .map_err(|e| e.to_string())?;
                // FORCE: the test's pool may still hold connections.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
                drop(conn.close().await);
                Ok::<(), String>(())
            })
        })
        .join();
        // Never panic in Drop (it may run during unwinding, which would abort): report instead.
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!(
                "warning: could not drop test database {}: the drop thread panicked",
                self.name
            ),
        }
    }
}

/// The admin URL from the environment, or the default.
pub fn admin_url() -> String {
    std::env::var(TEST_DATABASE_URL_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned())
}

async fn connect_admin(admin_url: &str) -> PgConnection {
    let shown = winichat_node::storage::redact_url(admin_url);
    let hint = format!(
        "PostgreSQL is needed for these tests: start it on 127.0.0.1:5432 (user postgres, \
         trust auth) or set {TEST_DATABASE_URL_VAR} to an admin URL"
    );
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(admin_url)).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => panic!("cannot connect to test PostgreSQL {shown}: {e}. {hint}"),
        Err(_) => panic!(
            "cannot connect to test PostgreSQL {shown}: no answer within {}s. {hint}",
            CONNECT_TIMEOUT.as_secs()
        ),
    }
}

/// `winichat_test_` + 16 random hex digits.
fn unique_name() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("no randomness for a test name: {e}"));
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("winichat_test_{suffix}")
}

/// `admin_url` with its database path replaced by `name`, keeping credentials and query.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |i| after_scheme + i);
    let mut url = format!("{}/{name}", &base[..authority_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_only() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "t1"),
            "postgres://u:p@h:5432/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "t2"), "postgres://h/t2");
    }
}
