//! `winichat admin …`: operator commands that work on the database directly (the node may be
//! running or not).

use std::io::BufRead as _;
use std::time::Duration;

use super::{Auth, AuthError};
use crate::cli::AdminCommand;
use crate::config::Config;
use crate::error::NodeError;
use crate::identity::{self, NodeIdentity};
use crate::storage;

/// Runs one admin command, printing its result on stdout.
pub fn run(config: Config, command: AdminCommand) -> Result<(), NodeError> {
    if let AdminCommand::Api(command) = command {
        return crate::admin::cli::run(config, command);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| NodeError::Internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        identity::prepare_data_dir(&config.data_dir)?;
        let node_identity = NodeIdentity::load_or_create(&config.data_dir)?;
        let db = storage::open(&config.database_url, &config.data_dir).await?;
        let result = async {
            node_identity.check_database(&db, &config.name).await?;
            let auth = Auth::new(
                db.clone(),
                config.name.clone(),
                &config.data_dir,
                config.auth.clone(),
            )?;
            execute(&auth, command).await
        }
        .await;
        db.close().await;
        result
    })
}

fn usage(e: AuthError) -> NodeError {
    match e {
        AuthError::Internal => NodeError::Internal("see the log above".into()),
        other => NodeError::Usage(other.to_string()),
    }
}

async fn execute(auth: &Auth, command: AdminCommand) -> Result<(), NodeError> {
    match command {
        AdminCommand::CreateUser {
            user: name,
            password_stdin,
        } => {
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| NodeError::Usage(format!("cannot read the password: {e}")))?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (super::new_secret_token().map_err(usage)?, true)
            };
            let id = auth
                .create_user(&name, &password, None, None)
                .await
                .map_err(usage)?;
            println!("created {id}");
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
        AdminCommand::RegistrationToken {
            uses,
            expires_in_hours,
        } => {
            if uses == 0 {
                return Err(NodeError::Usage("--uses must be at least 1".into()));
            }
            let expires = expires_in_hours.map(|h| Duration::from_secs(h.saturating_mul(3600)));
            let token = auth
                .create_registration_token(Some(uses), expires)
                .await
                .map_err(usage)?;
            println!("{token}");
            Ok(())
        }
        AdminCommand::Api(_) => Err(NodeError::Internal(
            "admin API commands are run by crate::admin::cli".into(),
        )),
    }
}
