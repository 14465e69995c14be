//! Regenerates `spec/vectors/*.json` from Rust values signed with the published test key.
//!
//! Run `cargo run -p winichat-protocol --example gen_vectors` only after a deliberate protocol
//! change; the spec tests fail whenever the committed vectors differ from this output
//! (spec/README.md, "Regenerating vectors").

#[path = "../tests/support/mod.rs"]
mod support;

fn main() -> std::io::Result<()> {
    let dir = support::spec_dir().join("vectors");
    std::fs::create_dir_all(&dir)?;
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            std::fs::remove_file(path)?;
        }
    }
    for (name, text) in support::generate::files() {
        std::fs::write(dir.join(&name), text)?;
        println!("wrote spec/vectors/{name}");
    }
    Ok(())
}
