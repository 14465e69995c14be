//! Attachments: what a client asks to attach ([`AttachmentInput`]) checked against what the
//! node stored, giving the node-authored [`Attachment`] that goes into a signed `msg.post`;
//! and the check of an avatar or group photo.

use winichat_protocol::ids::{MediaId, UserId};
use winichat_protocol::media::{
    Attachment, AttachmentError, AttachmentInput, MediaKind, check_file_name, check_inputs,
    check_signed_file_name,
};

use super::{Media, MediaError, now};
use crate::storage::media::MediaRecord;

/// Checks a file name given for a new attachment or upload: the protocol's rule for new names
/// ([`check_file_name`]: 1 to 255 characters of shown text, no `/`, `\` or `..`, and not `.`).
pub fn check_name(name: &str) -> Result<(), MediaError> {
    check_file_name(name).map_err(invalid)
}

/// Checks the `name` of a download URL. Clients take it from attachments, some signed before
/// the shown-text rule, so it follows the rule for signed names ([`check_signed_file_name`]:
/// no control, bidirectional override or isolate, `/`, `\` or `..`) — the characters that were
/// never allowed; it is percent-encoded into `Content-Disposition` either way.
pub fn check_download_name(name: &str) -> Result<(), MediaError> {
    check_signed_file_name(name).map_err(invalid)
}

fn invalid(e: AttachmentError) -> MediaError {
    MediaError::invalid(e.to_string())
}

impl Media {
    /// The stored row of `id` if it is on this node and `user` uploaded it, or it is on
    /// `user`'s own node (another node), which lets this node fetch it (a grant for this
    /// node, recorded when `user` submitted the post); otherwise [`MediaError::NotFound`]
    /// (another user's upload is not told apart from none), or [`MediaError::Invalid`] for
    /// media of any other node.
    async fn own_upload(&self, user: &UserId, id: &MediaId) -> Result<MediaRecord, MediaError> {
        if id.node != *self.node() && id.node == *user.node() {
            // A user of another node attaching their own node's media to a group homed here:
            // fetched from that node, which allows it only for its user's own upload.
            return self.granted_copy(id).await;
        }
        if id.node != *self.node() {
            return Err(MediaError::invalid(format!(
                "media {id} is not stored on this node"
            )));
        }
        let store = self.db().media();
        if !store.uploaded_by(user, &id.sha256).await? {
            return Err(MediaError::NotFound);
        }
        store.get(&id.sha256).await?.ok_or(MediaError::NotFound)
    }

    /// Checks each input — this node's media, uploaded by `user`; voice ⇒ audio with a
    /// waveform of 16–256 samples and a duration (from the container, else the client's,
    /// at most 24 h); poster ⇒ video, and an image `user` uploaded; the name rules of
    /// [`check_name`] — and returns the node-authored attachments, in order.
    ///
    /// Every media used is touched, so the clean-up's grace restarts while the message is
    /// being committed.
    pub async fn attachments(
        &self,
        user: &UserId,
        inputs: &[AttachmentInput],
    ) -> Result<Vec<Attachment>, MediaError> {
        // The limits that need no lookup (count, names, waveform lengths, durations).
        check_inputs(inputs).map_err(invalid)?;
        let now = now();
        let mut out = Vec::with_capacity(inputs.len());
        for input in inputs {
            out.push(self.attachment(user, input).await?);
        }
        for input in inputs {
            self.db().media().touch(&input.media.sha256, now).await?;
            if let Some(poster) = &input.poster {
                self.db().media().touch(&poster.sha256, now).await?;
            }
        }
        Ok(out)
    }

    async fn attachment(
        &self,
        user: &UserId,
        input: &AttachmentInput,
    ) -> Result<Attachment, MediaError> {
        let row = self.own_upload(user, &input.media).await?;
        // The container's duration wins; the client's (a recorder's WebM states none) is the
        // fallback. Zero means unknown.
        let duration_ms = row.duration_ms.or(input.duration_ms).filter(|&ms| ms > 0);
        let mut attachment = Attachment {
            media: input.media.clone(),
            kind: row.kind,
            mime: row.mime.clone(),
            size: row.size,
            name: input.name.clone(),
            width: row.width,
            height: row.height,
            duration_ms: None,
            blurhash: row.blurhash.clone(),
            waveform: None,
            poster: None,
        };
        match row.kind {
            MediaKind::Audio if input.voice => {
                attachment.kind = MediaKind::Voice;
                attachment.waveform.clone_from(&input.waveform);
                attachment.duration_ms =
                    Some(duration_ms.ok_or_else(|| {
                        MediaError::invalid("a voice message needs its duration")
                    })?);
            }
            _ if input.voice => return Err(MediaError::invalid("a voice message must be audio")),
            MediaKind::Audio | MediaKind::Video => attachment.duration_ms = duration_ms,
            _ if input.duration_ms.is_some() => {
                return Err(MediaError::invalid("only audio and video have a duration"));
            }
            _ => {}
        }
        if let Some(poster_id) = &input.poster {
            if row.kind != MediaKind::Video {
                return Err(MediaError::invalid("only a video has a poster"));
            }
            let poster = self.own_upload(user, poster_id).await?;
            if poster.kind != MediaKind::Image {
                return Err(MediaError::invalid("a poster must be an image"));
            }
            attachment.width = poster.width;
            attachment.height = poster.height;
            attachment.blurhash = poster.blurhash;
            attachment.poster = Some(poster_id.clone());
        }
        // What goes into the signed body passes the same check every receiver applies.
        attachment.check().map_err(invalid)?;
        Ok(attachment)
    }

    /// For avatars and group photos: `id` must be an image `user` uploaded to this node.
    /// Touches it, so the clean-up's grace restarts while the change is committed.
    pub async fn check_photo(&self, user: &UserId, id: &MediaId) -> Result<(), MediaError> {
        // Only attachments may come from the user's own node (federation.md §5.6): a photo is
        // an upload to this node, never fetched for the asking.
        if id.node != *self.node() {
            return Err(MediaError::invalid(format!(
                "media {id} is not stored on this node"
            )));
        }
        let row = self.own_upload(user, id).await?;
        if row.kind != MediaKind::Image {
            return Err(MediaError::invalid("a photo must be an image"));
        }
        self.db().media().touch(&id.sha256, now()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in [
            "a",
            "photo.jpg",
            "My report (final).pdf",
            ".hidden",
            "a.b.c",
            "Ünïcödé 写真.png",
            &"x".repeat(255),
        ] {
            assert!(check_name(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a..b",
            "..hidden",
            "../etc/passwd",
            "a/b",
            "a\\b",
            "line\nbreak",
            "nul\0",
            "tab\t",
            "del\u{7f}",
            "evil\u{202e}txt.exe",
            &"x".repeat(256),
        ] {
            assert!(
                matches!(check_name(bad), Err(MediaError::Invalid(_))),
                "{bad:?}"
            );
        }
        // 255 characters, more bytes.
        assert!(check_name(&"é".repeat(255)).is_ok());
    }
}
