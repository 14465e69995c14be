//! The `winichat` binary: parse the command line, load the config once, run the command.
//!
//! Every failure ends as one line `error: …` on stderr and exit code 1 (2 for usage and config
//! mistakes); logs go to stdout. Nothing here may panic: a panic would print a backtrace
//! (RUST_BACKTRACE is often set) instead of a message a self-hoster can act on.

use std::collections::HashMap;
use std::ffi::OsString;
use std::future::Future;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use clap::error::ErrorKind;
use tokio::signal::unix::{SignalKind, signal};
use winichat_node::cli::{Cli, Command, KeysCommand};
use winichat_node::config::{Config, ConfigError, ConfigFile, LogFormat, Origin};
use winichat_node::error::NodeError;
use winichat_node::federation::clock;
use winichat_node::identity::{self, NodeIdentity};
use winichat_node::server;

/// mimalloc rather than glibc's malloc: see [`winichat_node::Allocator`].
#[global_allocator]
static ALLOCATOR: winichat_node::Allocator = winichat_node::Allocator {};

/// Environment variable holding the log filter (`RUST_LOG` syntax).
const LOG_ENV: &str = "WINICHAT_LOG";

fn main() -> ExitCode {
    install_panic_hook();
    // One crypto provider for the whole process (ring), before anything builds a TLS config;
    // an error means one is already installed, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Causes from below (sqlx, the OS) may carry newlines; the contract is one line.
            let message = e.to_string().replace(['\n', '\r'], " ");
            eprintln!("error: {message}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<(), NodeError> {
    let config = load_config(&cli)?;
    init_logging(config.log_format)?;
    match cli.command {
        Command::Serve => serve(config),
        Command::Keys(KeysCommand::Show) => keys_show(&config),
        Command::Keys(KeysCommand::Rotate) => keys_rotate(&config),
        Command::Admin(command) => winichat_node::auth::admin::run(config, command),
        Command::Federation(command) => winichat_node::federation::ops::run(config, command),
        Command::Backup { dest } => winichat_node::backup::run_backup(&config, &dest),
        Command::Restore { src, force } => winichat_node::backup::run_restore(&config, &src, force),
    }
}

/// Reads the config file (if any) and the environment, then applies the flags.
fn load_config(cli: &Cli) -> Result<Config, NodeError> {
    let text = match &cli.config {
        Some(path) => Some(
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?,
        ),
        None => None,
    };
    let file = match (&cli.config, &text) {
        (Some(path), Some(text)) => Some(ConfigFile { path, text }),
        _ => None,
    };
    Ok(Config::load(file, &winichat_env()?, &cli.overrides())?)
}

/// The `WINICHAT_*` variables of the process environment. `std::env::vars` would panic on a
/// value that is not UTF-8; we report it instead.
fn winichat_env() -> Result<HashMap<String, String>, NodeError> {
    let mut env = HashMap::new();
    for (key, value) in std::env::vars_os() {
        let Some(key) = key.to_str().filter(|k| k.starts_with("WINICHAT_")) else {
            continue;
        };
        let value = value.into_string().map_err(|value: OsString| {
            NodeError::Usage(format!(
                "invalid config: {key} = {:?}: not valid UTF-8",
                value.to_string_lossy()
            ))
        })?;
        env.insert(key.to_owned(), value);
    }
    Ok(env)
}

/// Logs to stdout, readable or JSON, filtered by `WINICHAT_LOG` (default `info`).
fn init_logging(format: LogFormat) -> Result<(), NodeError> {
    let filter = match std::env::var(LOG_ENV) {
        Ok(spec) => winichat_node::logging::filter(&spec).map_err(|e| ConfigError::Value {
            origin: Origin::Env(LOG_ENV),
            value: spec.clone(),
            reason: e.to_string(),
        })?,
        Err(_) => winichat_node::logging::filter("info").map_err(|e| {
            NodeError::Internal(format!("the built-in log filter does not parse: {e}"))
        })?,
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stdout().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| NodeError::Internal(format!("cannot set up logging: {e}")))
}

fn serve(config: Config) -> Result<(), NodeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| NodeError::Internal(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(async {
        // Install the handlers before starting, so a signal during start-up is not lost.
        let shutdown = shutdown_signal()?;
        server::run(config, shutdown).await
    });
    // Tasks still running after a graceful shutdown are stragglers; don't wait for them long.
    runtime.shutdown_timeout(Duration::from_secs(2));
    result
}

/// Resolves on the first SIGINT or SIGTERM.
fn shutdown_signal() -> Result<impl Future<Output = ()>, NodeError> {
    let err =
        |e: std::io::Error| NodeError::Internal(format!("cannot install signal handlers: {e}"));
    let mut terminate = signal(SignalKind::terminate()).map_err(err)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(err)?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM received"),
            _ = interrupt.recv() => tracing::info!("SIGINT received"),
        }
    })
}

/// `winichat keys show`: prints the identity; never creates a key or a data directory.
fn keys_show(config: &Config) -> Result<(), NodeError> {
    let identity = NodeIdentity::load(&config.data_dir)?;
    println!("node name:   {}", config.name);
    println!("public key:  {}", identity.public_key_base64url());
    println!("fingerprint: {}", identity.fingerprint());
    Ok(())
}

/// `winichat keys rotate`: replaces the key of a stopped node and says what peers must do.
fn keys_rotate(config: &Config) -> Result<(), NodeError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| NodeError::Internal(format!("cannot start the async runtime: {e}")))?;
    let now = clock::now();
    let rotated = runtime.block_on(identity::rotate_stopped_node(
        &config.data_dir,
        &config.database_url,
        &config.name,
        now,
    ))?;
    println!("node name:       {}", config.name);
    println!("old fingerprint: {}", rotated.old.fingerprint());
    println!("new fingerprint: {}", rotated.new.fingerprint());
    println!("new public key:  {}", rotated.new.public_key_base64url());
    println!("old key kept in: {}", rotated.retired_path.display());
    if rotated.ts > now {
        println!(
            "The rotation is dated {} ms since the epoch, after the newest event the old key \
             signed, which is later than this machine's clock: is the clock right?",
            rotated.ts.0
        );
    }
    println!(
        "Start the node again: it signs with the new key from then on and its node document \
         carries the rotation, signed by the old key."
    );
    println!(
        "Peers that discover this node (https or http) follow the rotation by themselves the \
         next time they connect or fetch its document."
    );
    println!(
        "Peers that pinned this node must re-pin it with the new key: {}=<quic address>/{}",
        config.name,
        rotated.new.public_key_base64url()
    );
    Ok(())
}

/// Help and version go to stdout with status 0; a usage error becomes one line and status 2.
fn clap_exit(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // Printing to a closed stdout is not worth a panic or a different status.
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(2)
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid command line");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("error: {first} (see winichat --help)");
            ExitCode::from(2)
        }
    }
}

/// A panic is a bug, but it must still end as one line rather than a backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error (a bug, please report it): {message}{location}");
    }));
}
