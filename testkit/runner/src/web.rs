//! The web app (`client-web/`) as the runner and `cargo serve` need it: npm present, packages
//! installed when `package-lock.json` says so, `dist/` built when the sources changed.
//! Shared by both binaries of this crate (`test-all`, `serve`); std only.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// The web app's directory in the workspace.
pub fn client_web(root: &Path) -> PathBuf {
    root.join("client-web")
}

/// Where tools are kept between runs (outside any clone): `WINICHAT_CACHE_DIR`, default
/// `~/.cache/winichat`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WINICHAT_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache").join("winichat")
}

/// An `npm` command run in `dir`, with a supported Node.js first on its PATH.
pub fn npm(dir: &Path) -> Command {
    let mut command = Command::new("npm");
    command.current_dir(dir);
    if let Ok(Some(path)) = crate::nodejs::npm_path(&cache_dir().join("tools")) {
        command.env("PATH", path);
    }
    // The browser tests' harness runs cargo: it must not see this runner's variables.
    crate::nested::without_run_vars(&mut command);
    command
}

/// A clear error when npm is not installed, or when no supported Node.js is found or can be
/// installed (see [`crate::nodejs`]).
pub fn require_npm() -> Result<(), String> {
    match Command::new("npm").arg("--version").output() {
        Ok(out) if out.status.success() => {
            crate::nodejs::npm_path(&cache_dir().join("tools")).map(|_| ())
        }
        _ => Err(format!(
            "npm not found: the web app needs npm and {} (Debian: apt-get install nodejs npm, then {})",
            crate::nodejs::REQUIRED,
            crate::nodejs::INSTALL_HINT
        )),
    }
}

/// Runs `npm <args>` in `dir`, failing with the command in the message.
pub fn run_npm(dir: &Path, args: &[&str]) -> Result<(), String> {
    println!("$ npm {}", args.join(" "));
    let status = npm(dir)
        .args(args)
        .status()
        .map_err(|e| format!("cannot start npm: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("npm {} exited with {status}", args.join(" ")))
    }
}

/// `npm ci` when `node_modules` is missing or older than `package-lock.json`.
pub fn install_if_needed(dir: &Path) -> Result<(), String> {
    let installed = modified(&dir.join("node_modules").join(".package-lock.json"))
        .or_else(|| modified(&dir.join("node_modules")));
    let lock = modified(&dir.join("package-lock.json"));
    match (installed, lock) {
        (Some(installed), Some(lock)) if installed >= lock => Ok(()),
        _ => run_npm(dir, &["ci"]),
    }
}

/// `npm run build` when `dist/index.html` is missing or older than any source or config file.
pub fn build_if_stale(dir: &Path) -> Result<(), String> {
    let built = modified(&dir.join("dist").join("index.html"));
    let inputs = [
        "src",
        "public",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "vite-plugins",
        "tsconfig.json",
        "tsconfig.app.json",
    ];
    let newest = inputs
        .iter()
        .filter_map(|name| newest_in(&dir.join(name)))
        .max();
    match (built, newest) {
        (Some(built), Some(newest)) if built >= newest => {
            println!("web app is up to date (client-web/dist)");
            Ok(())
        }
        _ => run_npm(dir, &["run", "build"]),
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file, or of any file under a directory.
fn newest_in(path: &Path) -> Option<SystemTime> {
    let meta = path.metadata().ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| newest_in(&entry.path()))
        .max()
}
