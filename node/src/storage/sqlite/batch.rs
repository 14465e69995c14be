//! Writing a [`BatchPlan`] on SQLite: a few multi-row statements per batch instead of about
//! eight per event (see `storage::batch`). Keep in step with `postgres/batch.rs`.

use std::collections::HashMap;

use winichat_protocol::ids::GroupId;

use super::chats::{apply_op, upsert_chat};
use crate::storage::StorageError;
use crate::storage::batch::{self, BatchPlan, Step};

type Tx<'a> = sqlx::Transaction<'a, sqlx::Sqlite>;

/// Writes `plan` inside `tx`. Any error leaves `tx` to be rolled back: the caller then writes
/// the batch commit by commit to find the commit at fault.
pub(super) async fn write_plan(tx: &mut Tx<'_>, plan: &BatchPlan<'_>) -> Result<(), StorageError> {
    run(tx, batch::log_steps(plan)?).await?;
    for chat in &plan.whole_chats {
        upsert_chat(tx, chat, true).await?;
    }
    run(tx, batch::row_steps(plan)?).await?;
    let mut member_deltas: HashMap<&GroupId, i64> = HashMap::new();
    for ordered in &plan.ordered {
        let delta = apply_op(tx, ordered.group, &ordered.op).await?;
        *member_deltas.entry(ordered.group).or_default() += delta;
    }
    run(tx, batch::closing_steps(plan, &member_deltas)?).await
}

pub(super) async fn run(
    tx: &mut Tx<'_>,
    steps: Vec<Step<sqlx::Sqlite>>,
) -> Result<(), StorageError> {
    for Step {
        query,
        expect,
        what,
    } in steps
    {
        let ran = query
            .execute(&mut **tx)
            .await
            .map(|done| done.rows_affected());
        batch::outcome(expect, what, ran)?;
    }
    Ok(())
}
