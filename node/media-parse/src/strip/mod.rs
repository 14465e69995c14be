//! Lossless metadata stripping: the image data is copied byte for byte, the metadata around
//! it (EXIF with GPS, XMP, comments, text chunks, timestamps …) left out. A structure that
//! cannot be walked to its end is an error: the caller then re-encodes the decoded pixels
//! instead, so metadata never survives by accident.

pub mod gif;
pub mod jpeg;
pub mod png;
pub mod webp;

/// The image's structure could not be walked (truncated or malformed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// A stripped image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stripped {
    /// The bytes to serve.
    pub bytes: Vec<u8>,
    /// The image has several frames (APNG, animated WebP or GIF): re-encoding it would lose
    /// the animation.
    pub animated: bool,
}

/// `n` bytes at `at`, or [`Malformed`] when the input ends first.
pub(crate) fn take(input: &[u8], at: usize, n: usize) -> Result<&[u8], Malformed> {
    input
        .get(at..at.checked_add(n).ok_or(Malformed)?)
        .ok_or(Malformed)
}
