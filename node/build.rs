//! Rebuild when a migration changes: `sqlx::migrate!` embeds the SQL files at compile time, and
//! cargo would not otherwise notice a new or edited file under `migrations/`.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
