//! `FaultStore` on SQLite.

use super::SqliteStorage;
use crate::storage::rows::{self, FaultRow, fault_columns, sha256_hex};
use crate::storage::{FaultKind, FaultStore, GroupFault, StorageError, db_error, to_i64};
use winichat_protocol::ids::GroupId;

#[async_trait::async_trait]
impl FaultStore for SqliteStorage {
    async fn record_fault(&self, fault: &GroupFault) -> Result<bool, StorageError> {
        let mut turn = self.write_turn().await?;
        let at = to_i64(fault.at.0, "at")?;
        let mut tx = super::begin_immediate(&mut turn).await?;
        let inserted = sqlx::query(
            "INSERT INTO group_faults (group_id, seq, kind, reason, held_raw, offending_raw, \
             offending_sha256, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (group_id, seq, kind, offending_sha256) DO NOTHING",
        )
        .bind(fault.group.as_str())
        .bind(to_i64(fault.seq, "seq")?)
        .bind(fault.kind.as_str())
        .bind(&fault.reason)
        .bind(fault.held_raw.as_deref())
        .bind(fault.offending_raw.as_slice())
        .bind(sha256_hex(&fault.offending_raw))
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?
        .rows_affected()
            == 1;
        // A fork outranks a divergence: once forked, the group stays marked so.
        sqlx::query(
            "INSERT INTO groups (id, home_node, created_at, fault) VALUES (?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET fault = CASE WHEN groups.fault = 'forked' \
             THEN 'forked' ELSE excluded.fault END",
        )
        .bind(fault.group.as_str())
        .bind(fault.group.home().as_str())
        .bind(at)
        .bind(fault.kind.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(inserted)
    }

    async fn faults(&self, group: &GroupId) -> Result<Vec<GroupFault>, StorageError> {
        let rows = sqlx::query_as::<_, FaultRow>(concat!(
            "SELECT ",
            fault_columns!(),
            " FROM group_faults WHERE group_id = ? ORDER BY id"
        ))
        .bind(group.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows::faults(rows)
    }

    async fn group_fault(&self, group: &GroupId) -> Result<Option<FaultKind>, StorageError> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT fault FROM groups WHERE id = ?")
                .bind(group.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        row.and_then(|(fault,)| fault)
            .map(|f| crate::storage::parse_stored(&f, "groups.fault"))
            .transpose()
    }

    async fn faulty_groups(&self) -> Result<Vec<(GroupId, FaultKind)>, StorageError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id, fault FROM groups WHERE fault IS NOT NULL ORDER BY id")
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
        rows::faulty_groups(rows)
    }

    async fn all_faults(&self, limit: u32) -> Result<Vec<GroupFault>, StorageError> {
        let rows = sqlx::query_as::<_, FaultRow>(concat!(
            "SELECT ",
            fault_columns!(),
            " FROM group_faults ORDER BY at DESC, id DESC LIMIT ?"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows::faults(rows)
    }
}
