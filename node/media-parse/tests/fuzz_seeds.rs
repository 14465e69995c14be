//! The committed seed corpora of the fuzz targets (`fuzz/seeds/<target>/`, written by the
//! `fuzz_seeds` example): every target has seeds, and each seed is a valid input of its
//! parser, so a short fuzz run starts deep in the format instead of at its first byte.

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use winichat_media_parse::probe::{self, Probe};
use winichat_media_parse::sniff::{self, FILE};
use winichat_media_parse::strip::{self, Malformed, Stripped};
use winichat_protocol::media::MediaKind;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The seeds of `target`: (file name, bytes), sorted by name.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fuzz_dir().join("seeds").join(target);
    let mut out: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let name = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            (name, fs::read(&path).expect("a seed"))
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds for {target}");
    out
}

#[test]
fn every_target_has_seeds() {
    let manifest = fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let targets: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|name| *name != "winichat-media-parse-fuzz")
        .collect();
    assert_eq!(targets.len(), 10, "{targets:?}");
    for target in targets {
        seeds(target);
    }
}

#[test]
fn sniff_seeds_are_media_except_the_hostile_documents() {
    for (name, bytes) in seeds("sniff") {
        let sniffed = sniff::sniff(&bytes[..bytes.len().min(sniff::SNIFF_LEN)]);
        if name.ends_with(".html") || name.ends_with(".svg") {
            assert_eq!(sniffed, FILE, "{name}");
        } else {
            assert_ne!(sniffed, FILE, "{name}");
        }
    }
}

fn probe_seeds(target: &str, probe: fn(&mut Cursor<Vec<u8>>, u64) -> std::io::Result<Probe>) {
    for (name, bytes) in seeds(target) {
        let len = bytes.len() as u64;
        let found = probe(&mut Cursor::new(bytes), len).expect("a cursor");
        assert_eq!(found.audio, Some(true), "{target}: {name}");
    }
}

#[test]
fn probe_seeds_have_audio() {
    probe_seeds("probe_mp4", probe::mp4::probe);
    probe_seeds("probe_webm", probe::webm::probe);
    probe_seeds("probe_ogg", probe::ogg::probe);
    probe_seeds("probe_wav", probe::wav::probe);
    for (name, bytes) in seeds("probe_mp3") {
        let found = probe::mp3::probe(&mut Cursor::new(&bytes[..]), bytes.len() as u64)
            .expect("a cursor")
            .unwrap_or_else(|| panic!("no MP3 frame in {name}"));
        assert!(found.duration_ms.is_some(), "{name}");
    }
}

fn strip_seeds(target: &str, strip: fn(&[u8]) -> Result<Stripped, Malformed>) {
    for (name, bytes) in seeds(target) {
        assert_eq!(
            sniff::sniff(&bytes).kind,
            MediaKind::Image,
            "{target}: {name}"
        );
        strip(&bytes).unwrap_or_else(|_| panic!("{target}: {name} does not strip"));
    }
}

#[test]
fn strip_seeds_are_images_that_strip() {
    strip_seeds("strip_jpeg", strip::jpeg::strip);
    strip_seeds("strip_png", strip::png::strip);
    strip_seeds("strip_gif", strip::gif::strip);
    strip_seeds("strip_webp", strip::webp::strip);
}
