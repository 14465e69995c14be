//! Writes the seed corpora of the fuzz targets (`fuzz/seeds/<target>/`) from the test
//! fixtures: the committed audio and video files and small images encoded on the fly, some
//! carrying the metadata the strippers remove. Run it again when the fixtures change:
//!
//! ```sh
//! cargo run -p winichat-media-parse --example fuzz_seeds
//! ```

use std::fs;
use std::path::Path;

use winichat_testkit::media_fixtures::{self as fx, fixture};

/// The seeds of one target: file name and bytes.
type Seeds = Vec<(String, Vec<u8>)>;

fn main() -> std::io::Result<()> {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("seeds");
    let files = |names: &[&str]| -> Seeds {
        names
            .iter()
            .map(|n| ((*n).to_owned(), fixture(n)))
            .collect()
    };
    let images = |list: Vec<(&str, Vec<u8>)>| -> Seeds {
        list.into_iter().map(|(n, b)| (n.to_owned(), b)).collect()
    };
    let jpeg = images(vec![
        ("plain.jpg", fx::jpeg(16, 16)),
        ("gps-exif.jpg", fx::jpeg_with_gps_exif(16, 16)),
        ("orientation.jpg", fx::jpeg_with_orientation(16, 8, 6)),
    ]);
    let png = images(vec![
        ("plain.png", fx::png(16, 16)),
        ("alpha.png", fx::png_rgba(16, 16)),
        ("metadata.png", fx::png_with_metadata(16, 16)),
        ("orientation.png", fx::png_with_orientation(16, 8, 6)),
    ]);
    let gif = images(vec![
        ("plain.gif", fx::gif(16, 16)),
        ("metadata.gif", fx::gif_with_metadata(16, 16)),
    ]);
    let webp = images(vec![
        ("plain.webp", fx::webp(16, 16)),
        ("metadata.webp", fx::webp_with_metadata(16, 16)),
        ("orientation.webp", fx::webp_with_orientation(16, 8, 6)),
    ]);
    let audio_video = [
        "clip.mp4",
        "tone.m4a",
        "clip.webm",
        "voice.webm",
        "tone.ogg",
        "tone.mp3",
        "tone-cbr.mp3",
        "tone.wav",
        "poster.jpg",
    ];
    let mut sniff = files(&audio_video);
    for list in [&jpeg, &png, &gif, &webp] {
        sniff.extend(list.iter().cloned());
    }
    sniff.push(("document.html".to_owned(), fx::html_document()));
    sniff.push(("script.svg".to_owned(), fx::svg_with_script()));

    let mut strip_jpeg = jpeg;
    strip_jpeg.extend(files(&["poster.jpg"]));
    let targets: Vec<(&str, Seeds)> = vec![
        ("sniff", sniff),
        ("probe_mp4", files(&["clip.mp4", "tone.m4a"])),
        ("probe_webm", files(&["clip.webm", "voice.webm"])),
        ("probe_ogg", files(&["tone.ogg"])),
        ("probe_mp3", files(&["tone.mp3", "tone-cbr.mp3"])),
        ("probe_wav", files(&["tone.wav"])),
        ("strip_jpeg", strip_jpeg),
        ("strip_png", png),
        ("strip_gif", gif),
        ("strip_webp", webp),
    ];
    for (target, list) in targets {
        let dir = seeds.join(target);
        // Written afresh: a seed whose fixture is gone must not linger.
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
        for (name, bytes) in list {
            fs::write(dir.join(name), bytes)?;
        }
    }
    println!("seeds written to {}", seeds.display());
    Ok(())
}
