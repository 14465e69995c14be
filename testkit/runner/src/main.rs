//! `cargo test-all`: every check and test of the project, in a fixed order.
//!
//! Stages: formatting, the one-TLS-provider rule, the dependency audit (cargo-deny: advisories,
//! licences, bans, sources), clippy, a bounded fuzz run of every fuzz
//! target, the web app (lint, types, unit tests, build, browser tests against a real node),
//! then the whole Rust test suite (on SQLite and on PostgreSQL) with cargo-nextest.
//! Every stage runs even when an earlier one failed, so one run reports everything; the exit
//! status is non-zero if any stage failed. Nothing is skipped silently: a missing tool is a
//! failure that says what to install.
//!
//! `cargo test-all postgres` only finds or starts the PostgreSQL server and reports it.
//!
//! Environment: `WINICHAT_TEST_DATABASE_URL` (a PostgreSQL URL with the right to create
//! databases; found or started automatically when unset), `WINICHAT_FUZZ_SECONDS` (per fuzz
//! target, default 10), `WINICHAT_ADVISORY_DB` (a git checkout of the RustSec advisory-db,
//! default `~/.cache/winichat/advisory-db`), `WINICHAT_CACHE_DIR` (where tools such as
//! cargo-deny are installed, default `~/.cache/winichat`).

mod nested;
mod nodejs;
mod postgres;
// Shared with the `serve` binary, which uses other parts of it.
#[allow(dead_code)]
mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// The outcome of one stage.
struct Stage {
    name: &'static str,
    passed: bool,
    seconds: f64,
    note: String,
}

fn main() -> ExitCode {
    let root = workspace_root();
    // `test-all postgres`: only find (or start) the PostgreSQL server and report it, to check
    // the set-up on a new machine.
    if std::env::args().nth(1).as_deref() == Some("postgres") {
        return match postgres::resolve() {
            Ok(db) => {
                println!("ok: {}", db.admin_url());
                ExitCode::SUCCESS
            }
            Err(why) => {
                eprintln!("error: {why}");
                ExitCode::FAILURE
            }
        };
    }
    let fuzz_seconds: u32 = std::env::var("WINICHAT_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let mut stages = Vec::new();

    stages.push(run_stage("cargo fmt --check", || {
        status_of(cargo(&root).args(["fmt", "--all", "--", "--check"]))
    }));
    stages.push(run_stage("one TLS provider (no aws-lc-rs)", || {
        single_tls_provider(&root)
    }));
    stages.push(run_stage("dependency audit (cargo-deny)", || {
        dependency_audit(&root)
    }));
    stages.push(run_stage("cargo clippy -D warnings", || {
        status_of(cargo(&root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]))
    }));
    stages.push(run_stage("fuzz targets (bounded run)", || {
        fuzz_smoke(&root, fuzz_seconds)
    }));

    stages.push(run_stage("web app (lint, types, unit, browser)", || {
        web_app(&root)
    }));

    // The test suite runs last so its summary closes the output.
    let database = postgres::resolve();
    let mut test_summary = None;
    let tests = match &database {
        Ok(db) => run_stage("tests (SQLite and PostgreSQL)", || {
            let mut command = if has_nextest() {
                let mut c = cargo(&root);
                c.args([
                    "nextest",
                    "run",
                    "--workspace",
                    "--locked",
                    "--no-fail-fast",
                ]);
                c
            } else {
                let mut c = cargo(&root);
                c.args(["test", "--workspace", "--locked", "--no-fail-fast"]);
                c
            };
            command.env("WINICHAT_TEST_DATABASE_URL", db.admin_url());
            let (outcome, summary) = status_keeping_summary(&mut command);
            test_summary = summary;
            outcome
        }),
        Err(why) => Stage {
            name: "tests (SQLite and PostgreSQL)",
            passed: false,
            seconds: 0.0,
            note: format!("no PostgreSQL for the tests: {why}"),
        },
    };
    stages.push(tests);
    drop(database);

    println!();
    println!("test-all summary:");
    for stage in &stages {
        let mark = if stage.passed { "ok  " } else { "FAIL" };
        println!(
            "  {mark} {:<34} {:>7.1}s {}",
            stage.name, stage.seconds, stage.note
        );
    }
    // The test runner's own summary closes the output, so tools that read the last lines
    // see the test counts rather than the stage table.
    if let Some(summary) = test_summary {
        println!("{summary}");
    }
    if stages.iter().all(|s| s.passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run_stage(name: &'static str, body: impl FnOnce() -> Result<(), String>) -> Stage {
    println!("\n==> {name}");
    let started = Instant::now();
    let outcome = body();
    let seconds = started.elapsed().as_secs_f64();
    match outcome {
        Ok(()) => Stage {
            name,
            passed: true,
            seconds,
            note: String::new(),
        },
        Err(note) => {
            println!("!! {name}: {note}");
            Stage {
                name,
                passed: false,
                seconds,
                note,
            }
        }
    }
}

fn workspace_root() -> PathBuf {
    // testkit/runner → the workspace root, two levels up.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .to_path_buf()
}

fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.current_dir(root);
    nested::without_run_vars(&mut command);
    command
}

fn status_of(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("exited with {status}"))
    }
}

/// `npm ci` when needed, lint, type-check, unit tests, build, then the browser tests against a
/// real node the harness builds and starts (`npm run test:e2e -- --node`).
fn web_app(root: &Path) -> Result<(), String> {
    web::require_npm()?;
    let dir = web::client_web(root);
    web::install_if_needed(&dir)?;
    let mut failed = Vec::new();
    for script in ["lint", "typecheck", "test", "build"] {
        if let Err(why) = web::run_npm(&dir, &["run", script]) {
            failed.push(why);
        }
    }
    if failed.is_empty() {
        // Browser tests need the build.
        if let Err(why) = web::run_npm(&dir, &["run", "test:e2e", "--", "--node"]) {
            failed.push(why);
        }
    } else {
        failed.push("browser tests not run: the steps before them failed".to_owned());
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

/// Runs `command`, echoing its output, and keeps the test runner's summary line
/// (nextest: `Summary [..] N tests run: N passed ...`; cargo test: `test result: ...`).
fn status_keeping_summary(command: &mut Command) -> (Result<(), String>, Option<String>) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut child = match command.stderr(Stdio::piped()).spawn() {
        Ok(child) => child,
        Err(e) => {
            return (
                Err(format!("cannot start {:?}: {e}", command.get_program())),
                None,
            );
        }
    };
    let mut summary = None;
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{line}");
            if line.contains(" tests run: ") || line.starts_with("test result: ") {
                summary = Some(line.trim().to_owned());
            }
        }
    }
    let outcome = match child.wait() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("exited with {status}")),
        Err(e) => Err(format!("cannot wait for the test run: {e}")),
    };
    (outcome, summary)
}

fn has_nextest() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Two rustls crypto providers in one binary make `ClientConfig::builder()` panic at run time.
fn single_tls_provider(root: &Path) -> Result<(), String> {
    let output = cargo(root)
        .args([
            "tree",
            "--workspace",
            "--locked",
            "-e",
            "normal,build,dev",
            "-i",
            "aws-lc-rs",
        ])
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && stderr.contains("did not match any packages") {
        println!("aws-lc-rs is not in the dependency graph");
        Ok(())
    } else if output.status.success() {
        println!("{}", String::from_utf8_lossy(&output.stdout));
        Err("aws-lc-rs is in the dependency graph (see above)".to_owned())
    } else {
        Err(format!("cargo tree failed: {stderr}"))
    }
}

/// The cargo-deny release the audit runs (it builds with the workspace's Rust); installed from
/// crates.io into the cache once, reinstalled only when this changes.
const CARGO_DENY_VERSION: &str = "0.20.2";

/// cargo-deny's directory name for the database URL in deny.toml: the URL's last path segment
/// and the XXH64 (seed 0xca80de71) of the lowercased URL. Fixed by CARGO_DENY_VERSION.
const ADVISORY_DB_DIR_NAME: &str = "advisory-db-3157b0e258782691";

/// Where tools and the advisory database are kept between runs (outside any clone).
fn cache_dir() -> PathBuf {
    web::cache_dir()
}

/// Advisories, licences, bans (no aws-lc-rs, no OpenSSL) and sources, per deny.toml, offline.
/// Licences, bans and sources always run; without a local advisory database the stage fails
/// and says how to provide one.
fn dependency_audit(root: &Path) -> Result<(), String> {
    let cache = cache_dir();
    let tools = cache.join("tools");
    ensure_cargo_deny(&tools)?;
    let path = match std::env::var_os("PATH") {
        Some(path) => {
            let mut dirs = vec![tools.join("bin")];
            dirs.extend(std::env::split_paths(&path));
            std::env::join_paths(dirs).map_err(|e| format!("cannot extend PATH: {e}"))?
        }
        None => tools.join("bin").into_os_string(),
    };
    let advisory_db = std::env::var_os("WINICHAT_ADVISORY_DB")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| cache.join("advisory-db"));
    let db_root = cache.join("advisory-dbs");
    let deny = |checks: &[&str]| {
        let mut command = cargo(root);
        command
            .env("PATH", &path)
            .env("WINICHAT_ADVISORY_DBS", &db_root)
            .args(["deny", "--offline", "--locked", "check"])
            .args(checks);
        status_of(&mut command)
    };

    // cargo-deny reads the whole graph (every platform's crates) with `cargo metadata`, which
    // offline needs them all in the local registry: fetch them from crates.io first.
    status_of(cargo(root).args(["fetch", "--locked"]))
        .map_err(|e| format!("cargo fetch (for cargo deny): {e}"))?;

    let missing_db = if advisory_db.join(".git").exists() && advisory_db.join("crates").is_dir() {
        link_advisory_db(&db_root, &advisory_db)?;
        None
    } else {
        Some(format!(
            "no advisory database at {} (set WINICHAT_ADVISORY_DB): it must be a git clone of \
             the RustSec advisory-db (a directory with .git and crates/); licences, bans and \
             sources were checked without it",
            advisory_db.display()
        ))
    };
    match missing_db {
        None => deny(&["advisories", "bans", "licenses", "sources"]),
        Some(why) => {
            deny(&["bans", "licenses", "sources"])?;
            Err(why)
        }
    }
}

/// Installs cargo-deny CARGO_DENY_VERSION under `tools` unless it is there already.
fn ensure_cargo_deny(tools: &Path) -> Result<(), String> {
    let binary = tools.join("bin").join("cargo-deny");
    let installed = Command::new(&binary)
        .arg("--version")
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout).trim()
                    == format!("cargo-deny {CARGO_DENY_VERSION}")
        });
    if installed {
        return Ok(());
    }
    println!(
        "installing cargo-deny {CARGO_DENY_VERSION} into {}",
        tools.display()
    );
    status_of(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
            .args(["install", "cargo-deny", "--locked", "--force", "--version"])
            .arg(CARGO_DENY_VERSION)
            .arg("--root")
            .arg(tools)
            // A temporary build directory, removed afterwards, not the workspace's.
            .env_remove("CARGO_TARGET_DIR"),
    )
    .map_err(|e| format!("cannot install cargo-deny {CARGO_DENY_VERSION}: {e}"))
}

/// Makes `db_root/ADVISORY_DB_DIR_NAME` a link to `advisory_db`, where cargo-deny looks for the
/// database of the URL in deny.toml.
fn link_advisory_db(db_root: &Path, advisory_db: &Path) -> Result<(), String> {
    let err =
        |what: &str, e: std::io::Error| format!("cannot {what} in {}: {e}", db_root.display());
    std::fs::create_dir_all(db_root).map_err(|e| err("create the directory", e))?;
    let link = db_root.join(ADVISORY_DB_DIR_NAME);
    let target = std::fs::canonicalize(advisory_db).map_err(|e| err("resolve the database", e))?;
    if std::fs::read_link(&link).is_ok_and(|current| current == target) {
        return Ok(());
    }
    match std::fs::symlink_metadata(&link) {
        Ok(meta) if meta.is_dir() => {
            std::fs::remove_dir_all(&link).map_err(|e| err("replace the database link", e))?
        }
        Ok(_) => std::fs::remove_file(&link).map_err(|e| err("replace the database link", e))?,
        Err(_) => {}
    }
    std::os::unix::fs::symlink(&target, &link).map_err(|e| err("link the database", e))
}

/// The crates with cargo-fuzz targets (each has a `fuzz/` directory, its own workspace): the
/// protocol's decoders and the parsers of uploaded media.
const FUZZ_CRATES: [&str; 2] = ["protocol", "node/media-parse"];

/// The longest one input may take before libFuzzer reports it as a hang. Every parser bounds
/// its work; a debug-info release build on a busy CI runner stays far below this.
const FUZZ_INPUT_TIMEOUT_SECONDS: u32 = 20;

/// Builds every cargo-fuzz target of [`FUZZ_CRATES`] and runs each for `seconds`.
fn fuzz_smoke(root: &Path, seconds: u32) -> Result<(), String> {
    let version = Command::new("cargo").args(["fuzz", "--version"]).output();
    if !version.is_ok_and(|o| o.status.success()) {
        return Err(
            "cargo-fuzz is missing: install it with `cargo install cargo-fuzz --locked`".to_owned(),
        );
    }
    let target_dir = fuzz_target_dir(root);
    let mut failed = Vec::new();
    for krate in FUZZ_CRATES {
        match fuzz_crate(&root.join(krate), &target_dir, seconds) {
            Ok(crashed) => failed.extend(crashed.iter().map(|t| format!("{krate}: {t}"))),
            Err(why) => failed.push(format!("{krate}: {why}")),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzz targets failed: {}", failed.join(", ")))
    }
}

/// Builds and runs the targets of the crate at `crate_dir`; returns those that failed.
fn fuzz_crate(crate_dir: &Path, target_dir: &Path, seconds: u32) -> Result<Vec<String>, String> {
    let fuzz_dir = crate_dir.join("fuzz");
    let list = Command::new("cargo")
        .args(["fuzz", "list"])
        .current_dir(crate_dir)
        .output()
        .map_err(|e| format!("cannot run cargo fuzz list: {e}"))?;
    if !list.status.success() {
        return Err(format!(
            "cargo fuzz list failed: {}",
            String::from_utf8_lossy(&list.stderr)
        ));
    }
    let targets: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if targets.is_empty() {
        return Err(format!("no fuzz targets found in {}", fuzz_dir.display()));
    }
    // One build of every target (cargo builds them in parallel) before the timed runs. The
    // crates share the target directory, so what they have in common is built once.
    let built = Command::new("cargo")
        .args(["fuzz", "build", "--sanitizer", "none", "--target-dir"])
        .arg(target_dir)
        .env("RUSTC_BOOTSTRAP", "1")
        .current_dir(crate_dir)
        .status();
    if !built.is_ok_and(|s| s.success()) {
        return Err("cargo fuzz build failed".to_owned());
    }
    let mut failed = Vec::new();
    for target in &targets {
        println!("--- fuzz {target} for {seconds}s");
        // The working corpus (ignored by git) must exist; committed seeds are read-only input.
        let corpus = fuzz_dir.join("corpus").join(target);
        if let Err(e) = std::fs::create_dir_all(&corpus) {
            return Err(format!("cannot create {}: {e}", corpus.display()));
        }
        let seeds = fuzz_dir.join("seeds").join(target);
        let mut command = Command::new("cargo");
        command
            .args(["fuzz", "run", "--sanitizer", "none", "--target-dir"])
            .arg(target_dir)
            .arg(target)
            .arg(&corpus);
        if seeds.is_dir() {
            command.arg(&seeds);
        }
        let status = command
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-timeout={FUZZ_INPUT_TIMEOUT_SECONDS}"))
            .arg("-print_final_stats=0")
            // Stable toolchain: cargo-fuzz needs `-Z` flags, which this unlocks.
            .env("RUSTC_BOOTSTRAP", "1")
            .current_dir(crate_dir)
            .status();
        if !status.is_ok_and(|s| s.success()) {
            failed.push(target.clone());
        }
    }
    Ok(failed)
}

/// Fuzz builds use different flags than normal builds; keep them apart so neither invalidates
/// the other.
fn fuzz_target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("fuzz"),
        None => root.join("target").join("fuzz"),
    }
}
