//! The command line: `winichat [global flags] <command>`.
//!
//! Flags are kept as text here and validated by [`crate::config::Config::load`], so a bad
//! `--http` gets the same one-line error as a bad `http` key in the file.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Overrides;

/// WiniChat: a self-hostable, federated chat node.
#[derive(Debug, Parser)]
#[command(name = "winichat", version, propagate_version = true)]
pub struct Cli {
    /// Read settings from this TOML file (see config.example.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Directory for the identity key and the SQLite database [default: ./winichat-data].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// HTTP listen address [default: 127.0.0.1:7800].
    #[arg(long, global = true, value_name = "ADDR")]
    pub http: Option<String>,

    /// QUIC (federation) listen address [default: 127.0.0.1:7801].
    #[arg(long, global = true, value_name = "ADDR")]
    pub quic: Option<String>,

    /// The node's name, e.g. chat.example.org [default: the HTTP address].
    #[arg(long, global = true, value_name = "NAME")]
    pub name: Option<String>,

    /// Database URL: sqlite://PATH or postgres://USER:PASS@HOST/DB [default: SQLite in the data dir].
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// Log format: text or json [default: text].
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,

    /// Directory of the built web app served at / [default: the workspace's client-web/dist].
    #[arg(long, global = true, value_name = "DIR")]
    pub web_dir: Option<PathBuf>,

    /// Pin a federation peer: NAME=QUIC_ADDR/KEY, the key as unpadded base64url (repeatable;
    /// adds to `[[federation.peers]]` and WINICHAT_PEERS).
    #[arg(long = "peer", global = true, value_name = "NAME=ADDR/KEY", action = clap::ArgAction::Append)]
    pub peers: Vec<String>,

    /// Serve HTTPS with this PEM certificate chain (reloaded on SIGHUP) [default: plain HTTP].
    #[arg(long, global = true, value_name = "FILE")]
    pub tls_cert: Option<String>,

    /// The PEM private key of --tls-cert [default: the --tls-cert file].
    #[arg(long, global = true, value_name = "FILE")]
    pub tls_key: Option<String>,

    /// Also listen for plain HTTP here and redirect it to HTTPS [default: off].
    #[arg(long, global = true, value_name = "ADDR")]
    pub tls_redirect_http: Option<String>,

    /// Serve /metrics (Prometheus) and /readyz on this address [default: off].
    #[arg(long, global = true, value_name = "ADDR")]
    pub metrics_listen: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the node until SIGINT or SIGTERM.
    Serve,
    /// Inspect the node's identity key.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Operator tasks: accounts, groups, quotas, registration tokens, federation lists.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Operator views of federation: peers, outbox backlog, faults, log hashes.
    #[command(subcommand)]
    Federation(FederationCommand),
    /// Copy the database, keys and media to DEST while the node runs; a later backup into the
    /// same DEST copies only new media (docs/backup.md).
    Backup {
        /// The backup directory (created if missing).
        #[arg(value_name = "DEST")]
        dest: PathBuf,
    },
    /// Put a backup back into the data directory; the node must be stopped, and the data
    /// directory empty unless --force (docs/backup.md).
    Restore {
        /// The backup directory, as `winichat backup` wrote it.
        #[arg(value_name = "SRC")]
        src: PathBuf,
        /// Overwrite what the data directory (or SQLite file) holds already.
        #[arg(long)]
        force: bool,
    },
}

/// `winichat federation …`: read-only, safe while the node runs.
#[derive(Debug, Subcommand)]
pub enum FederationCommand {
    /// One line per peer: last contact, outbox depth, age of the oldest undelivered event,
    /// attempts and last error; then any group marked forked or diverged.
    Status {
        /// Print JSON for scripts instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print `<head seq> <sha256 hex>` of this node's copy of a group's log (equal on two
    /// nodes exactly when they hold the same events up to that seq).
    LogHash {
        /// The group id, e.g. !k3x9q2:chat.example.org.
        #[arg(value_name = "GROUP")]
        group: String,
    },
}

/// `winichat admin …`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user account (whatever the registration mode). Without --password-stdin a
    /// random password is generated and printed.
    CreateUser {
        /// The user name (3–32 characters of a-z 0-9 _ . -).
        #[arg(value_name = "NAME")]
        user: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Issue a registration token (for `registration = "invite"`) and print it.
    RegistrationToken {
        /// How many registrations it allows [default: 1].
        #[arg(long, value_name = "N", default_value_t = 1)]
        uses: u32,
        /// Hours until it expires [default: never].
        #[arg(long, value_name = "H")]
        expires_in_hours: Option<u64>,
    },
    /// The commands below go through the admin API: to the running node (with the operator
    /// token it writes into the data directory), or in this process when the node is stopped.
    #[command(flatten)]
    Api(crate::admin::cli::ApiCommand),
}

/// `winichat keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print the node name, the public key (base64url) and its SHA-256 fingerprint (hex).
    /// Creates nothing: fails if the node has no key yet.
    Show,
    /// Replace the identity key (stop the node first). The old key is kept next to it as
    /// node.key.retired-<UTC time>, and the rotation, signed by the old key, is recorded so
    /// the node document proves the new key to peers that knew the old one.
    Rotate,
}

impl Cli {
    /// The flags that override the config file and the environment.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            name: self.name.clone(),
            data_dir: self.data_dir.clone(),
            http: self.http.clone(),
            quic: self.quic.clone(),
            database_url: self.database_url.clone(),
            log_format: self.log_format.clone(),
            web_dir: self.web_dir.clone(),
            peers: self.peers.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            tls_redirect_http: self.tls_redirect_http.clone(),
            metrics_listen: self.metrics_listen.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::path::Path;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn admin_create_user_name_is_not_the_node_name() {
        let cli =
            Cli::try_parse_from(["winichat", "admin", "create-user", "alice"]).expect("parse");
        assert_eq!(cli.overrides().name, None);
        assert!(matches!(
            cli.command,
            Command::Admin(AdminCommand::CreateUser { ref user, password_stdin: false }) if user == "alice"
        ));
    }

    #[test]
    fn federation_subcommands_parse() {
        let cli = Cli::try_parse_from(["winichat", "federation", "status", "--json"])
            .expect("parse status");
        assert!(matches!(
            cli.command,
            Command::Federation(FederationCommand::Status { json: true })
        ));
        let cli = Cli::try_parse_from(["winichat", "federation", "log-hash", "!g1:a.example"])
            .expect("parse log-hash");
        assert!(matches!(
            cli.command,
            Command::Federation(FederationCommand::LogHash { ref group }) if group == "!g1:a.example"
        ));
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "winichat",
            "serve",
            "--http",
            "127.0.0.1:1",
            "--name",
            "a.b",
        ])
        .expect("parse");
        assert!(matches!(cli.command, Command::Serve));
        assert_eq!(cli.overrides().http.as_deref(), Some("127.0.0.1:1"));
        assert_eq!(cli.overrides().name.as_deref(), Some("a.b"));
    }

    #[test]
    fn backup_and_restore_parse() {
        let cli = Cli::try_parse_from(["winichat", "backup", "/srv/backup"]).expect("backup");
        assert!(
            matches!(cli.command, Command::Backup { ref dest } if dest == Path::new("/srv/backup"))
        );
        let cli = Cli::try_parse_from(["winichat", "restore", "/srv/backup", "--force"])
            .expect("restore");
        assert!(matches!(
            cli.command,
            Command::Restore { ref src, force: true } if src == Path::new("/srv/backup")
        ));
    }

    #[test]
    fn keys_rotate_parses() {
        let cli = Cli::try_parse_from(["winichat", "keys", "rotate"]).expect("parse");
        assert!(matches!(cli.command, Command::Keys(KeysCommand::Rotate)));
    }

    #[test]
    fn peer_flag_repeats() {
        let cli = Cli::try_parse_from([
            "winichat",
            "serve",
            "--peer",
            "a.example=127.0.0.1:1/K",
            "--peer",
            "b.example=127.0.0.1:2/K",
        ])
        .expect("parse");
        assert_eq!(
            cli.overrides().peers,
            ["a.example=127.0.0.1:1/K", "b.example=127.0.0.1:2/K"]
        );
    }
}
