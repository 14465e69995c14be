//! Commands this runner starts (cargo, npm, and the cargo that npm's browser tests start) must
//! not inherit the variables `cargo run` set for the runner itself: build scripts that watch
//! `CARGO_MANIFEST_DIR` or `CARGO_PKG_*` (ring, rustls, quinn, sqlx…) would see this crate's
//! values and rebuild, and rebuild again at the next plain `cargo build`.

use std::process::Command;

/// Variables cargo sets for the crate it runs, which a nested cargo must not see. `CARGO`
/// itself stays: it names the cargo to use.
const RUN_VARS: [&str; 9] = [
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
    "CARGO_MAKEFLAGS",
    "OUT_DIR",
];

/// True for a variable that `cargo run` set for this process.
pub fn is_run_var(name: &str) -> bool {
    RUN_VARS.contains(&name) || name.starts_with("CARGO_PKG_")
}

/// Removes from `command`'s environment every variable of this process that `cargo run` set.
pub fn without_run_vars(command: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_run_var) {
            command.env_remove(name);
        }
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crate_s_own_variables_are_run_vars() {
        for name in [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_BIN_NAME",
            "CARGO_PRIMARY_PACKAGE",
        ] {
            assert!(is_run_var(name), "{name}");
        }
    }

    #[test]
    fn the_user_s_cargo_settings_are_kept() {
        for name in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_TERM_COLOR",
            "CARGO_BUILD_JOBS",
            "CARGO_INCREMENTAL",
            "RUSTFLAGS",
            "PATH",
        ] {
            assert!(!is_run_var(name), "{name}");
        }
    }

    #[test]
    fn a_nested_command_does_not_see_them() {
        // Run by cargo (nextest), this process has CARGO_MANIFEST_DIR and CARGO_PKG_NAME.
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
        let mut command = Command::new("env");
        let output = without_run_vars(&mut command).output().expect("env runs");
        let seen = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success());
        assert!(seen.lines().any(|l| l.starts_with("PATH=")), "others kept");
        for line in seen.lines() {
            let name = line.split('=').next().unwrap_or_default();
            assert!(!is_run_var(name), "{name} reached the nested command");
        }
    }
}
