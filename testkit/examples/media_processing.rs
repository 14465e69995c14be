//! How long the node takes to process an uploaded photo: sniffing, the dimension guard,
//! lossless metadata stripping (or re-encoding when EXIF orientation must be applied),
//! thumbnails and the blurhash. Prints figures; not part of the test suite.
//!
//! ```sh
//! cargo run --release -p winichat-testkit --example media_processing
//! ```

use std::time::{Duration, Instant};

use winichat_node::media::process::{ImageLimits, process};
use winichat_testkit::media_fixtures as fx;

/// Runs `process` on a fresh copy of `bytes` `runs` times and returns the median time.
fn median(bytes: &[u8], runs: usize) -> Duration {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs {
        let path = dir.path().join(format!("upload-{i}"));
        std::fs::write(&path, bytes).expect("write");
        let started = Instant::now();
        process(&path, &ImageLimits::default()).expect("process");
        times.push(started.elapsed());
    }
    times.sort();
    times[runs / 2]
}

fn main() {
    let runs = 5;
    let cases = [
        (
            "12 MP JPEG with GPS EXIF (stripped losslessly)",
            fx::jpeg_with_gps_exif(4000, 3000),
        ),
        (
            "12 MP JPEG, orientation 6 (rotated, re-encoded)",
            fx::jpeg_with_orientation(4000, 3000, 6),
        ),
        ("2 MP PNG", fx::png(1920, 1080)),
        ("50,000 × 50,000 PNG bomb header (refused)", Vec::new()),
    ];
    println!("media processing, median of {runs} runs");
    for (name, bytes) in cases {
        if bytes.is_empty() {
            let bomb = fx::png_bomb_header(50_000, 50_000);
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("bomb");
            std::fs::write(&path, &bomb).expect("write");
            let started = Instant::now();
            let refused = process(&path, &ImageLimits::default()).is_err();
            println!(
                "{name:<52} {:>10.2?}  refused: {refused}",
                started.elapsed()
            );
            continue;
        }
        let size = bytes.len();
        println!(
            "{name:<52} {:>10.2?}  ({} KiB)",
            median(&bytes, runs),
            size / 1024
        );
    }
}
