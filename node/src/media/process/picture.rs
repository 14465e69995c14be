//! Images: the dimension guard (from the header, before any pixel is decoded), decoding under
//! [`image::Limits`], EXIF orientation, the copy served (stripped losslessly, or re-encoded
//! when the orientation must be applied or the structure cannot be walked), thumbnails and
//! the blurhash.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, Limits};
use winichat_media_parse::strip::{self, Malformed, Stripped};
use winichat_protocol::media::THUMB_SIZES;

use super::{ImageLimits, ProcessError, Thumb};

/// JPEG quality of a re-encoded photo.
const REENCODE_QUALITY: u8 = 90;
/// JPEG quality of a thumbnail.
const THUMB_QUALITY: u8 = 80;
/// Blurhash components (x, y).
const BLURHASH_COMPONENTS: (u32, u32) = (4, 3);

/// An image that decoded.
#[derive(Debug)]
pub(super) struct Picture {
    /// The MIME type served (a re-encoded WebP or GIF becomes PNG).
    pub mime: &'static str,
    /// As displayed (after orientation).
    pub width: u32,
    pub height: u32,
    /// The bytes to serve instead of the upload's, when they differ.
    pub served: Option<Vec<u8>>,
    pub blurhash: Option<String>,
    pub thumbs: Vec<Thumb>,
}

/// Processes an image of type `mime`. `Ok(None)` when it does not decode (it is then a
/// file); [`ProcessError::ImageTooLarge`] when its header claims more than `limits` allow.
pub(super) fn process(
    bytes: &[u8],
    mime: &'static str,
    limits: &ImageLimits,
) -> Result<Option<Picture>, ProcessError> {
    let format = match mime {
        "image/jpeg" => ImageFormat::Jpeg,
        "image/png" => ImageFormat::Png,
        "image/gif" => ImageFormat::Gif,
        "image/webp" => ImageFormat::WebP,
        _ => return Ok(None),
    };
    let Some(decoded) = decode(bytes, format, limits)? else {
        return Ok(None);
    };
    let Decoded {
        mut image,
        orientation,
        icc,
    } = decoded;

    let stripped = strip_for(format, bytes);
    let animated = stripped.as_ref().is_ok_and(|s| s.animated);
    let rotate = orientation != Orientation::NoTransforms && !animated;
    let (served, mime) = match stripped {
        Ok(Stripped { bytes: clean, .. }) if !rotate => {
            ((clean.as_slice() != bytes).then_some(clean), mime)
        }
        _ => {
            if rotate {
                image.apply_orientation(orientation);
            }
            let (clean, mime) = reencode(&image, format, icc)?;
            (Some(clean), mime)
        }
    };

    let thumbs_images = thumbnails(&image);
    let transparent = thumbs_images
        .last()
        .is_some_and(|(_, t)| t.color().has_alpha() && t.to_rgba8().pixels().any(|p| p[3] < 255));
    let blurhash = thumbs_images.first().and_then(|(_, t)| {
        let rgba = t.to_rgba8();
        let (x, y) = BLURHASH_COMPONENTS;
        blurhash::encode(x, y, rgba.width(), rgba.height(), rgba.as_raw()).ok()
    });
    let mut thumbs = Vec::with_capacity(THUMB_SIZES.len());
    for (size, t) in &thumbs_images {
        let (bytes, mime) = encode_thumb(t, transparent)?;
        thumbs.push(Thumb {
            size: *size,
            mime,
            bytes,
        });
    }
    Ok(Some(Picture {
        mime,
        width: image.width(),
        height: image.height(),
        served,
        blurhash,
        thumbs,
    }))
}

/// A decoded image and what its header said.
struct Decoded {
    image: DynamicImage,
    orientation: Orientation,
    icc: Option<Vec<u8>>,
}

/// Reads the header, checks the dimensions against `limits`, then decodes (the first frame of
/// an animation) under allocation limits. `Ok(None)`: the image does not decode.
fn decode(
    bytes: &[u8],
    format: ImageFormat,
    limits: &ImageLimits,
) -> Result<Option<Decoded>, ProcessError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    // No dimension limit yet: the header's claim is wanted, to refuse it with its numbers.
    let mut header_limits = Limits::default();
    header_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(header_limits);
    let Ok(mut decoder) = reader.into_decoder() else {
        return Ok(None);
    };
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, limits)?;
    if width == 0 || height == 0 {
        return Ok(None);
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let icc = decoder.icc_profile().ok().flatten();

    let mut decode_limits = Limits::default();
    decode_limits.max_image_width = Some(limits.max_side);
    decode_limits.max_image_height = Some(limits.max_side);
    decode_limits.max_alloc = Some(limits.max_alloc);
    if decoder.total_bytes() > limits.max_alloc {
        // Within the pixel limit but not the memory limit (e.g. 16-bit RGBA).
        return Err(ProcessError::ImageTooLarge { width, height });
    }
    if decoder.set_limits(decode_limits).is_err() {
        return Err(ProcessError::ImageTooLarge { width, height });
    }
    match DynamicImage::from_decoder(decoder) {
        Ok(image) => Ok(Some(Decoded {
            image,
            orientation,
            icc,
        })),
        Err(image::ImageError::Limits(_)) => Err(ProcessError::ImageTooLarge { width, height }),
        Err(_) => Ok(None),
    }
}

/// [`ProcessError::ImageTooLarge`] when a side or the pixel count exceeds `limits`.
pub(super) fn check_dimensions(
    width: u32,
    height: u32,
    limits: &ImageLimits,
) -> Result<(), ProcessError> {
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_side || height > limits.max_side || pixels > limits.max_pixels {
        return Err(ProcessError::ImageTooLarge { width, height });
    }
    Ok(())
}

fn strip_for(format: ImageFormat, bytes: &[u8]) -> Result<Stripped, Malformed> {
    match format {
        ImageFormat::Jpeg => strip::jpeg::strip(bytes),
        ImageFormat::Png => strip::png::strip(bytes),
        ImageFormat::Gif => strip::gif::strip(bytes),
        ImageFormat::WebP => strip::webp::strip(bytes),
        _ => Err(Malformed),
    }
}

/// Encodes the whole image afresh, carrying only the ICC profile: a JPEG as JPEG (quality
/// 90), anything else as PNG.
fn reencode(
    image: &DynamicImage,
    source: ImageFormat,
    icc: Option<Vec<u8>>,
) -> Result<(Vec<u8>, &'static str), ProcessError> {
    let mut out = Vec::new();
    let mime = if source == ImageFormat::Jpeg {
        let mut encoder = JpegEncoder::new_with_quality(&mut out, REENCODE_QUALITY);
        if let Some(icc) = icc {
            // A profile the encoder refuses is left out.
            let _ = encoder.set_icc_profile(icc);
        }
        image
            .write_with_encoder(encoder)
            .map_err(std::io::Error::other)?;
        "image/jpeg"
    } else {
        let mut encoder = PngEncoder::new(&mut out);
        if let Some(icc) = icc {
            let _ = encoder.set_icc_profile(icc);
        }
        image
            .write_with_encoder(encoder)
            .map_err(std::io::Error::other)?;
        "image/png"
    };
    Ok((out, mime))
}

/// The thumbnails, smallest first: each longest side fits its size, never upscaled; each made
/// from the next larger one.
fn thumbnails(image: &DynamicImage) -> Vec<(u32, DynamicImage)> {
    let mut sizes = THUMB_SIZES;
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let mut out: Vec<(u32, DynamicImage)> = Vec::with_capacity(sizes.len());
    for size in sizes {
        let source = out.last().map_or(image, |(_, t)| t);
        let longest = source.width().max(source.height());
        let thumb = if longest <= size {
            source.clone()
        } else if longest >= size * 2 {
            // Area averaging: fast, and good when shrinking by 2 or more.
            source.thumbnail(size, size)
        } else {
            source.resize(size, size, FilterType::Triangle)
        };
        out.push((size, thumb));
    }
    out.reverse();
    out
}

/// A thumbnail as JPEG (quality 80), or PNG when the image has transparency.
fn encode_thumb(
    thumb: &DynamicImage,
    transparent: bool,
) -> Result<(Vec<u8>, &'static str), ProcessError> {
    let mut out = Vec::new();
    if transparent {
        let rgba = thumb.to_rgba8();
        PngEncoder::new(&mut out)
            .write_image(
                rgba.as_raw(),
                rgba.width(),
                rgba.height(),
                image::ExtendedColorType::Rgba8,
            )
            .map_err(std::io::Error::other)?;
        Ok((out, "image/png"))
    } else {
        let rgb = thumb.to_rgb8();
        JpegEncoder::new_with_quality(&mut out, THUMB_QUALITY)
            .write_image(
                rgb.as_raw(),
                rgb.width(),
                rgb.height(),
                image::ExtendedColorType::Rgb8,
            )
            .map_err(std::io::Error::other)?;
        Ok((out, "image/jpeg"))
    }
}
