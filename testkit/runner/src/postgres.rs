//! Finds a PostgreSQL server for the tests, or starts a throwaway one.
//!
//! Order: `WINICHAT_TEST_DATABASE_URL` if set (it must work: a set variable that fails is an
//! error, not a reason to look elsewhere); else the local server on 127.0.0.1:5432; else a
//! cluster made with this machine's `initdb` in a temporary directory, stopped and deleted
//! afterwards. If none works the tests fail with a message saying what to install.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A PostgreSQL server the tests may create databases on.
pub enum Database {
    /// A server that was already running.
    Existing(String),
    /// A cluster this run started; stopped and removed on drop.
    Throwaway(Throwaway),
}

impl Database {
    /// A URL of a database on the server, as a user allowed to create databases.
    pub fn admin_url(&self) -> &str {
        match self {
            Database::Existing(url) => url,
            Database::Throwaway(t) => &t.url,
        }
    }
}

/// Resolves the server, printing which one is used.
pub fn resolve() -> Result<Database, String> {
    if let Ok(url) = std::env::var("WINICHAT_TEST_DATABASE_URL") {
        return match answers(&url) {
            Ok(()) => {
                println!("PostgreSQL for tests: WINICHAT_TEST_DATABASE_URL");
                Ok(Database::Existing(url))
            }
            Err(why) => Err(format!("WINICHAT_TEST_DATABASE_URL does not answer: {why}")),
        };
    }
    // WINICHAT_TEST_THROWAWAY_PG=1 forces the last resort, to test it where a server runs.
    let forced = std::env::var_os("WINICHAT_TEST_THROWAWAY_PG").is_some();
    match if forced {
        Err("forced".to_owned())
    } else {
        answers(LOCAL_URL)
    } {
        Ok(()) => {
            println!("PostgreSQL for tests: {LOCAL_URL}");
            return Ok(Database::Existing(LOCAL_URL.to_owned()));
        }
        Err(why) => {
            println!("no PostgreSQL on 127.0.0.1:5432 ({why}); starting a throwaway cluster")
        }
    }
    Throwaway::start().map(Database::Throwaway).map_err(|why| {
        format!(
            "{why}. Install PostgreSQL (Debian: apt-get install postgresql), start it on \
             127.0.0.1:5432, or set WINICHAT_TEST_DATABASE_URL"
        )
    })
}

fn answers(url: &str) -> Result<(), String> {
    let output = Command::new("psql")
        .args([url, "-Atqc", "select 1"])
        .env("PGCONNECT_TIMEOUT", "3")
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

/// A cluster in a temporary directory.
pub struct Throwaway {
    url: String,
    dir: PathBuf,
    pg_ctl: PathBuf,
    as_postgres: bool,
}

impl Throwaway {
    fn start() -> Result<Self, String> {
        let bin =
            postgres_bin_dir().ok_or("no initdb/pg_ctl found on PATH or in /usr/lib/postgresql")?;
        let dir = std::env::temp_dir().join(format!("winichat-test-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        // PostgreSQL refuses to run as root; CI runs as root, so use the `postgres` account.
        let as_postgres = is_root();
        if as_postgres {
            run(Command::new("chown").args(["-R", "postgres:"]).arg(&dir))?;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let data = dir.join("data");
        run(user_command(as_postgres, &bin.join("initdb"))
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "-D"])
            .arg(&data))?;
        let this = Self {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            pg_ctl: bin.join("pg_ctl"),
            dir,
            as_postgres,
        };
        run(user_command(as_postgres, &this.pg_ctl)
            .args(["-w", "-t", "30", "-D"])
            .arg(&data)
            .arg("-l")
            .arg(this.dir.join("log"))
            .arg("-o")
            .arg(format!(
                "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
                this.dir.display()
            ))
            .arg("start"))?;
        answers(&this.url)?;
        println!("PostgreSQL for tests: throwaway cluster at {}", this.url);
        Ok(this)
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        let _ = user_command(self.as_postgres, &self.pg_ctl)
            .args(["-m", "immediate", "-D"])
            .arg(self.dir.join("data"))
            .arg("stop")
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn user_command(as_postgres: bool, program: &Path) -> Command {
    if as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} failed: {}",
            command.get_program(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn postgres_bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    });
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
            .filter(|bin| bin.join("initdb").is_file())
            .collect();
        versions.sort();
        versions.pop()
    })
}
