//! Media references: what a message, an avatar or a group photo says about a piece of media.
//!
//! The bytes live on the node named in the [`MediaId`], content-addressed by SHA-256. A client
//! uploads them over HTTP (`POST /api/media`, see `spec/media.md`), then refers to them in
//! `msgs.post` with an [`AttachmentInput`]; the node checks the input against what it stored
//! and writes the authoritative [`Attachment`] into the signed `msg.post` body.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::codec;
use crate::ids::MediaId;
use crate::text::{Lines, check_shown_text};

/// The thumbnail sizes a node makes for every image (and video poster): the longest side in
/// pixels, never upscaled.
pub const THUMB_SIZES: [u32; 3] = [96, 320, 1280];
/// At most this many attachments in one message.
pub const MAX_ATTACHMENTS: usize = 10;
/// A file name: at most this many characters.
pub const MAX_FILE_NAME_CHARS: usize = 255;
/// A voice message's waveform: this many samples at least …
pub const MIN_WAVEFORM_SAMPLES: usize = 16;
/// … and at most this many (one byte each, 0 silent to 255 loudest).
pub const MAX_WAVEFORM_SAMPLES: usize = 256;
/// The longest duration accepted: 24 hours.
pub const MAX_DURATION_MS: u64 = 24 * 60 * 60 * 1000;
/// A blurhash placeholder: at most this many characters.
pub const MAX_BLURHASH_CHARS: usize = 100;
/// `media.urls`: at most this many items in one call.
pub const MAX_URL_ITEMS: usize = 100;
/// A mime type: at most this many characters.
pub const MAX_MIME_CHARS: usize = 100;
/// The shortest blurhash: one size character, one maximum character, four for the mean colour.
pub const MIN_BLURHASH_CHARS: usize = 6;
/// The characters of a blurhash (its base 83 digits).
pub const BLURHASH_ALPHABET: &str =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

/// What a piece of media is, as sniffed from its bytes (never from the client's claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// jpeg, png, webp, gif: shown inline, with thumbnails.
    Image,
    /// ogg/opus, mp3, m4a, webm audio, wav: the audio player.
    Audio,
    /// Audio recorded as a voice message: the audio player with a waveform.
    Voice,
    /// mp4, webm with video: the video player.
    Video,
    /// Anything else: only ever served as a download.
    File,
}

impl MediaKind {
    /// Every kind, in wire order.
    pub const ALL: [MediaKind; 5] = [
        MediaKind::Image,
        MediaKind::Audio,
        MediaKind::Voice,
        MediaKind::Video,
        MediaKind::File,
    ];

    /// The wire name (`image`, `audio`, `voice`, `video`, `file`).
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Audio => "audio",
            MediaKind::Voice => "voice",
            MediaKind::Video => "video",
            MediaKind::File => "file",
        }
    }

    /// The kind with this wire name.
    pub fn parse(name: &str) -> Option<MediaKind> {
        MediaKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl core::fmt::Display for MediaKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// True for a size in [`THUMB_SIZES`].
pub fn is_thumb_size(size: u32) -> bool {
    THUMB_SIZES.contains(&size)
}

/// Why an attachment (or a file name) is refused. `Display` is a short sentence; [`code`]
/// a stable snake_case name.
///
/// [`code`]: AttachmentError::code
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum AttachmentError {
    /// More than [`MAX_ATTACHMENTS`] attachments in one message.
    #[error("a message has at most 10 attachments")]
    TooMany,
    /// A file name that is empty or longer than [`MAX_FILE_NAME_CHARS`] characters.
    #[error("a file name has 1 to 255 characters")]
    NameLength,
    /// A file name with a character shown text may not hold (a control, a bidirectional
    /// override, a zero-width character …), `/`, `\` or `..`, or that is `.`.
    #[error(
        "a file name has no control, invisible or direction-changing characters, '/', '\\' or '..', and is not '.'"
    )]
    NameCharacters,
    /// A waveform of fewer than [`MIN_WAVEFORM_SAMPLES`] or more than [`MAX_WAVEFORM_SAMPLES`].
    #[error("a waveform has 16 to 256 samples")]
    WaveformLength,
    /// A waveform on something that is not a voice message.
    #[error("only a voice message has a waveform")]
    UnexpectedWaveform,
    /// A voice message without a waveform.
    #[error("a voice message needs a waveform")]
    MissingWaveform,
    /// A poster on something that is not a video.
    #[error("only a video has a poster")]
    UnexpectedPoster,
    /// A duration over [`MAX_DURATION_MS`].
    #[error("a duration is at most 24 hours")]
    DurationTooLong,
    /// A blurhash that is not one: its length or characters.
    #[error("a blurhash is 6 to 100 characters of the blurhash alphabet, of a consistent length")]
    Blurhash,
    /// A width or height of 0.
    #[error("width and height are at least 1")]
    ZeroDimension,
    /// A mime type that is empty, longer than [`MAX_MIME_CHARS`] or not printable ASCII.
    #[error("a mime type has 1 to 100 printable ASCII characters")]
    Mime,
}

impl AttachmentError {
    /// A stable name for logs, error messages and tests.
    pub fn code(self) -> &'static str {
        match self {
            AttachmentError::TooMany => "too_many",
            AttachmentError::NameLength => "name_length",
            AttachmentError::NameCharacters => "name_characters",
            AttachmentError::WaveformLength => "waveform_length",
            AttachmentError::UnexpectedWaveform => "unexpected_waveform",
            AttachmentError::MissingWaveform => "missing_waveform",
            AttachmentError::UnexpectedPoster => "unexpected_poster",
            AttachmentError::DurationTooLong => "duration_too_long",
            AttachmentError::Blurhash => "blurhash",
            AttachmentError::ZeroDimension => "zero_dimension",
            AttachmentError::Mime => "mime",
        }
    }
}

/// A file name as a new attachment carries it (a `msgs.post` request, an upload's `name`, a
/// body a home node is about to sign): 1 to [`MAX_FILE_NAME_CHARS`] characters of shown text on
/// one line (protocol.md §2.1: no control, format or other invisible character — a
/// bidirectional override makes `gpj.exe` look like `exe.jpg`); no `/` or `\`; no `..`
/// anywhere; not `.`.
pub fn check_file_name(name: &str) -> Result<(), AttachmentError> {
    check_signed_file_name(name)?;
    check_shown_text(name, Lines::One).map_err(|_| AttachmentError::NameCharacters)
}

/// A file name in a body already signed by its home node (read back from a log or received),
/// and the `name` of a download URL: the rule file names had before the shown-text rule, so
/// that names signed under it stay readable and downloadable. 1 to [`MAX_FILE_NAME_CHARS`]
/// characters; no control character (C0, DEL, C1), no `/` or `\`, no bidirectional
/// embedding, override or isolate (U+202A–U+202E, U+2066–U+2069); no `..` anywhere; not `.`.
pub fn check_signed_file_name(name: &str) -> Result<(), AttachmentError> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_FILE_NAME_CHARS {
        return Err(AttachmentError::NameLength);
    }
    let bad = |c: char| {
        c.is_control()
            || c == '/'
            || c == '\\'
            || ('\u{202A}'..='\u{202E}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    if name.chars().any(bad) || name == "." || name.contains("..") {
        return Err(AttachmentError::NameCharacters);
    }
    Ok(())
}

/// A blurhash: [`MIN_BLURHASH_CHARS`] to [`MAX_BLURHASH_CHARS`] characters of
/// [`BLURHASH_ALPHABET`], with the length its first character implies (`4 + 2·x·y` for `x·y`
/// components, each 1 to 9).
pub fn check_blurhash(hash: &str) -> Result<(), AttachmentError> {
    let len = hash.len();
    if !(MIN_BLURHASH_CHARS..=MAX_BLURHASH_CHARS).contains(&len)
        || !hash
            .bytes()
            .all(|b| BLURHASH_ALPHABET.as_bytes().contains(&b))
    {
        return Err(AttachmentError::Blurhash);
    }
    let size_flag = BLURHASH_ALPHABET
        .bytes()
        .position(|b| Some(b) == hash.bytes().next())
        .ok_or(AttachmentError::Blurhash)?;
    let (x, y) = (size_flag % 9 + 1, size_flag / 9 + 1);
    if y <= 9 && len == 4 + 2 * x * y {
        Ok(())
    } else {
        Err(AttachmentError::Blurhash)
    }
}

/// A mime type: 1 to [`MAX_MIME_CHARS`] printable ASCII characters (spaces allowed inside, as
/// in `audio/ogg; codecs=opus`).
pub fn check_mime(mime: &str) -> Result<(), AttachmentError> {
    let ok = !mime.is_empty()
        && mime.len() <= MAX_MIME_CHARS
        && mime.bytes().all(|b| (b' '..=b'~').contains(&b))
        && mime.trim() == mime;
    if ok {
        Ok(())
    } else {
        Err(AttachmentError::Mime)
    }
}

fn check_waveform(waveform: &[u8]) -> Result<(), AttachmentError> {
    if (MIN_WAVEFORM_SAMPLES..=MAX_WAVEFORM_SAMPLES).contains(&waveform.len()) {
        Ok(())
    } else {
        Err(AttachmentError::WaveformLength)
    }
}

fn check_duration(duration_ms: Option<u64>) -> Result<(), AttachmentError> {
    match duration_ms {
        Some(ms) if ms > MAX_DURATION_MS => Err(AttachmentError::DurationTooLong),
        _ => Ok(()),
    }
}

/// The attachments of a new `msg.post` body: at most [`MAX_ATTACHMENTS`], each passing
/// [`Attachment::check`].
pub fn check_attachments(attachments: &[Attachment]) -> Result<(), AttachmentError> {
    if attachments.len() > MAX_ATTACHMENTS {
        return Err(AttachmentError::TooMany);
    }
    attachments.iter().try_for_each(Attachment::check)
}

/// The attachments of a signed `msg.post` body: at most [`MAX_ATTACHMENTS`], each passing
/// [`Attachment::check_signed`].
pub fn check_signed_attachments(attachments: &[Attachment]) -> Result<(), AttachmentError> {
    if attachments.len() > MAX_ATTACHMENTS {
        return Err(AttachmentError::TooMany);
    }
    attachments.iter().try_for_each(Attachment::check_signed)
}

/// The attachments of one `msgs.post` request: at most [`MAX_ATTACHMENTS`], each passing
/// [`AttachmentInput::check`].
pub fn check_inputs(inputs: &[AttachmentInput]) -> Result<(), AttachmentError> {
    if inputs.len() > MAX_ATTACHMENTS {
        return Err(AttachmentError::TooMany);
    }
    inputs.iter().try_for_each(AttachmentInput::check)
}

/// A piece of media in a `msg.post` body, as the node that stores it describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The bytes.
    pub media: MediaId,
    /// How to show it.
    pub kind: MediaKind,
    /// The sniffed type (`application/octet-stream` for a file).
    #[serde(deserialize_with = "codec::text")]
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
    /// The file name the sender gave.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub name: Option<String>,
    /// Image (or video poster) width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Image (or video poster) height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Audio, voice or video duration in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// A blurhash of the image (or poster), shown while it loads.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub blurhash: Option<String>,
    /// A voice message's waveform: one byte per sample, 0–255.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "codec::optional_bytes"
    )]
    pub waveform: Option<Vec<u8>>,
    /// A video's poster frame (an image on the same node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poster: Option<MediaId>,
}

impl Attachment {
    /// The limits of a new attachment (`Body::decode` runs it on each): the name
    /// ([`check_file_name`]) and the rest of [`Attachment::check_signed`].
    pub fn check(&self) -> Result<(), AttachmentError> {
        if let Some(name) = &self.name {
            check_file_name(name)?;
        }
        self.check_signed()
    }

    /// The limits every reader checks, also on a body already signed (`Body::decode_signed`):
    /// the name ([`check_signed_file_name`]), the mime type ([`check_mime`]), width and height
    /// at least 1, a duration of at most [`MAX_DURATION_MS`], the blurhash
    /// ([`check_blurhash`]); a waveform of 16–256 samples exactly on a voice message; a poster
    /// only on a video.
    pub fn check_signed(&self) -> Result<(), AttachmentError> {
        if let Some(name) = &self.name {
            check_signed_file_name(name)?;
        }
        check_mime(&self.mime)?;
        if self.width == Some(0) || self.height == Some(0) {
            return Err(AttachmentError::ZeroDimension);
        }
        check_duration(self.duration_ms)?;
        if let Some(hash) = &self.blurhash {
            check_blurhash(hash)?;
        }
        match (&self.waveform, self.kind) {
            (Some(waveform), MediaKind::Voice) => check_waveform(waveform)?,
            (Some(_), _) => return Err(AttachmentError::UnexpectedWaveform),
            (None, MediaKind::Voice) => return Err(AttachmentError::MissingWaveform),
            (None, _) => {}
        }
        if self.poster.is_some() && self.kind != MediaKind::Video {
            return Err(AttachmentError::UnexpectedPoster);
        }
        Ok(())
    }
}

/// An attachment as a client asks for it in `msgs.post`; the node fills in the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentInput {
    /// Media the caller uploaded to this node.
    pub media: MediaId,
    /// The file name to show.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub name: Option<String>,
    /// True for a voice message (audio only; needs `waveform`).
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub voice: bool,
    /// The waveform the client computed while recording (voice only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "codec::optional_bytes"
    )]
    pub waveform: Option<Vec<u8>>,
    /// The duration the client measured; used only when the node cannot read one from the
    /// container (a recorder's WebM has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// A video's poster frame: an image the caller uploaded (video only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poster: Option<MediaId>,
}

impl AttachmentInput {
    /// The limits checked before the node looks the media up: the name ([`check_file_name`]);
    /// a duration of at most [`MAX_DURATION_MS`]; `voice` exactly with a waveform of 16–256
    /// samples; no poster on a voice message. (That a voice message is audio and a poster goes
    /// with a video needs the stored media: the node checks it.)
    pub fn check(&self) -> Result<(), AttachmentError> {
        if let Some(name) = &self.name {
            check_file_name(name)?;
        }
        check_duration(self.duration_ms)?;
        match (&self.waveform, self.voice) {
            (Some(waveform), true) => check_waveform(waveform)?,
            (Some(_), false) => return Err(AttachmentError::UnexpectedWaveform),
            (None, true) => return Err(AttachmentError::MissingWaveform),
            (None, false) => {}
        }
        if self.voice && self.poster.is_some() {
            return Err(AttachmentError::UnexpectedPoster);
        }
        Ok(())
    }
}

/// `media.urls` params: signed URLs for media the caller may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaUrlsParams {
    /// Up to [`MAX_URL_ITEMS`] requests.
    pub items: Vec<MediaUrlRequest>,
}

/// Why `media.urls` params are refused (`bad_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MediaUrlsError {
    /// More than [`MAX_URL_ITEMS`] items.
    #[error("media.urls takes at most 100 items")]
    TooMany,
    /// A thumbnail size not in [`THUMB_SIZES`].
    #[error("thumbnail sizes are 96, 320 and 1280")]
    ThumbSize,
}

impl MediaUrlsParams {
    /// At most [`MAX_URL_ITEMS`] items, each thumbnail size in [`THUMB_SIZES`].
    pub fn check(&self) -> Result<(), MediaUrlsError> {
        if self.items.len() > MAX_URL_ITEMS {
            return Err(MediaUrlsError::TooMany);
        }
        if self
            .items
            .iter()
            .any(|item| item.thumb.is_some_and(|t| !is_thumb_size(t)))
        {
            return Err(MediaUrlsError::ThumbSize);
        }
        Ok(())
    }
}

/// One `media.urls` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaUrlRequest {
    /// Which media.
    pub media: MediaId,
    /// A thumbnail size from [`THUMB_SIZES`]; absent for the original bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb: Option<u32>,
}

/// `media.urls` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaUrls {
    /// One per request, in order: a path with its signature (`/api/media/…?exp=…&sig=…`), or
    /// null when the caller may not see that media or it does not exist.
    pub urls: Vec<Option<String>>,
    /// When the URLs stop working (Unix ms).
    pub expires_at: crate::Timestamp,
}

/// The JSON result of `POST /api/media` (spec/media.md), as `201` or `200` carry it. Unlike the
/// CBOR messages, `id` is the media id's text form `node/<64 hex>`, and `kind` is never `voice`
/// (a voice message is audio that a message calls one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaInfo {
    /// The media id, text form.
    #[serde(with = "media_id_text")]
    pub id: MediaId,
    /// `image`, `audio`, `video` or `file`.
    pub kind: MediaKind,
    /// The sniffed type.
    pub mime: String,
    /// Size in bytes of what is served (after metadata stripping).
    pub size: u64,
    /// Image width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Image height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Audio or video duration, when the container states one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The image's blurhash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blurhash: Option<String>,
}

/// Serde for a [`MediaId`] as its text form `node/<hex>` (JSON, URLs), instead of the CBOR map.
pub mod media_id_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::ids::MediaId;

    /// Writes the text form.
    pub fn serialize<S: Serializer>(id: &MediaId, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    /// Reads the text form.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MediaId, D::Error> {
        let text = String::deserialize(d)?;
        MediaId::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
