//! `cargo serve`: builds the web app when needed, then runs a release node that serves it.
//!
//! 1. `npm ci` in `client-web/` if `node_modules` is missing or older than `package-lock.json`;
//! 2. `npm run build` if `client-web/dist` is missing or older than the sources;
//! 3. `cargo run --release -p winichat-node --bin winichat -- serve <extra args>`.
//!
//! Extra arguments go to `winichat serve`: `cargo serve --http 0.0.0.0:7800`.

#[path = "../nested.rs"]
mod nested;
#[path = "../nodejs.rs"]
mod nodejs;
#[path = "../web.rs"]
mod web;

use std::path::Path;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    // testkit/runner → the workspace root, two levels up.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.ancestors().nth(2).unwrap_or(manifest);
    let client_web = web::client_web(root);

    let built = web::require_npm()
        .and_then(|()| web::install_if_needed(&client_web))
        .and_then(|()| web::build_if_stale(&client_web));
    if let Err(why) = built {
        eprintln!("error: cannot build the web app: {why}");
        return ExitCode::FAILURE;
    }

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    // Cargo's variables for this runner would make the build scripts of ring, rustls, quinn
    // and sqlx rerun here and again at the next plain `cargo build`.
    nested::without_run_vars(&mut command);
    command
        .current_dir(root)
        .args([
            "run",
            "--release",
            "-p",
            "winichat-node",
            "--bin",
            "winichat",
            "--",
            "serve",
        ])
        .args(std::env::args_os().skip(1));
    exec(command)
}

/// Replaces this process with `command` (Unix), so Ctrl-C and SIGTERM reach the node directly.
#[cfg(unix)]
fn exec(mut command: Command) -> ExitCode {
    use std::os::unix::process::CommandExt as _;
    let error = command.exec();
    eprintln!("error: cannot run cargo: {error}");
    ExitCode::FAILURE
}

#[cfg(not(unix))]
fn exec(mut command: Command) -> ExitCode {
    match command.status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: cannot run cargo: {error}");
            ExitCode::FAILURE
        }
    }
}
