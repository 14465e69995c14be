//! The clean-up of unreferenced media: rows touched longer ago than the grace period that no
//! message, avatar or group photo refers to are deleted — by a conditional delete, so a
//! reference written meanwhile wins — and then their blobs and thumbnails are removed.

use std::time::Duration;

use tokio::sync::watch;
use winichat_protocol::Timestamp;
use winichat_protocol::media::THUMB_SIZES;

use super::store::BlobKey;
use super::{Media, MediaError, now};

/// How often the background task runs.
pub const GC_EVERY: Duration = Duration::from_secs(10 * 60);
/// How long after start the first run waits (the node is busy starting before).
pub const GC_FIRST_AFTER: Duration = Duration::from_secs(30);
/// Rows examined per batch.
pub const GC_BATCH: u32 = 100;

impl Media {
    /// Removes the media nothing refers to whose last upload or use is older than the grace
    /// period at `now`. Returns how many were removed.
    pub async fn gc(&self, now: Timestamp) -> Result<u64, MediaError> {
        let grace_ms = self.settings().gc_grace_secs.saturating_mul(1000);
        let before = Timestamp(now.0.saturating_sub(grace_ms));
        let mut removed = 0;
        loop {
            let batch = self.db().media().unreferenced(before, GC_BATCH).await?;
            let full = batch.len() == GC_BATCH as usize;
            let mut removed_here = 0;
            for row in batch {
                // Exclusive: no upload publishes and records this hash while its row and
                // blobs go.
                let _no_uploads = self.inner.gc_lock.write().await;
                if !self
                    .db()
                    .media()
                    .delete_unreferenced(&row.sha256, before)
                    .await?
                {
                    continue;
                }
                let keys = std::iter::once(BlobKey::original(row.sha256)).chain(
                    THUMB_SIZES
                        .iter()
                        .filter_map(|&s| BlobKey::thumb(row.sha256, s)),
                );
                for key in keys {
                    if let Err(e) = self.store().delete(&key).await {
                        tracing::warn!(?key, error = %e, "media clean-up: cannot remove a blob");
                    }
                }
                removed += 1;
                removed_here += 1;
            }
            if !full || removed_here == 0 {
                return Ok(removed);
            }
        }
    }

    /// Runs [`Media::gc`] shortly after start and then every [`GC_EVERY`], until `shutdown`
    /// turns true.
    pub async fn collect_garbage(self, mut shutdown: watch::Receiver<bool>) {
        let mut wait = GC_FIRST_AFTER;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.wait_for(|&stop| stop) => return,
            }
            match self.gc(now()).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(removed = n, "media clean-up: unreferenced uploads removed")
                }
                Err(e) => tracing::warn!(error = %e, "media clean-up failed"),
            }
            wait = GC_EVERY;
        }
    }
}
