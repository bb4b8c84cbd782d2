//! Builds the guest crate for wasm32 and encodes it as a component, so that
//! `cargo build -p plangate` always embeds a component built from this source tree.
//!
//! Two toolchains are supported, detected in this order:
//! 1. rustup with the `wasm32-unknown-unknown` target installed (a normal laptop);
//! 2. Debian's `rustc-web` + `rust-web-src` (these CI machines), building `std`
//!    with `-Zbuild-std` (see `scripts/setup`).
//!
//! `PLANGATE_GUEST_WASM=/path/to/core-or-component.wasm` skips the nested build of
//! the gate. The same nested build also compiles the example Rust rule plugin and
//! the hostile test plugins into `OUT_DIR/plugins/` (they are small, and building
//! them together shares one `std` build).

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .parent()
        .expect("host/ is inside the workspace")
        .to_path_buf();
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    for path in [
        "guest/src",
        "guest/Cargo.toml",
        "wit",
        "Cargo.lock",
        "Cargo.toml",
        "examples/plugins/nodepool-failures",
        "tests/plugins",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    println!("cargo:rerun-if-env-changed=PLANGATE_GUEST_WASM");
    println!("cargo:rerun-if-env-changed=PLANGATE_GUEST_TOOLCHAIN");

    let prebuilt = env::var_os("PLANGATE_GUEST_WASM").map(PathBuf::from);
    let mut packages: Vec<&str> = PLUGINS.iter().map(|(package, _)| *package).collect();
    if prebuilt.is_none() {
        packages.insert(0, "plangate-guest");
    }
    let built = build_wasm(&root, &packages);
    let gate = prebuilt.unwrap_or_else(|| built.join("plangate_guest.wasm"));
    encode(&gate, &out.join("plangate-gate.wasm"));
    std::fs::create_dir_all(out.join("plugins")).expect("create OUT_DIR/plugins");
    for (package, name) in PLUGINS {
        encode(
            &built.join(format!("{}.wasm", package.replace('-', "_"))),
            &out.join("plugins").join(format!("{name}.wasm")),
        );
    }
}

/// Rule plugin crates built beside the gate: (package, component name).
const PLUGINS: [(&str, &str); 3] = [
    ("plangate-plugin-nodepool-failures", "nodepool-failures"),
    ("plangate-test-plugin-spin", "test-spin"),
    ("plangate-test-plugin-hog", "test-hog"),
];

/// Reads a core module (or a component) and writes it as a component to `dest`.
fn encode(core: &Path, dest: &Path) {
    let bytes = std::fs::read(core).unwrap_or_else(|e| {
        fail(&format!(
            "cannot read the wasm module {}: {e}",
            core.display()
        ))
    });
    let component = if wasmparser_is_component(&bytes) {
        bytes
    } else {
        wit_component::ComponentEncoder::default()
            .module(&bytes)
            .and_then(|e| e.validate(true).encode())
            .unwrap_or_else(|e| {
                fail(&format!(
                    "cannot turn {} into a component: {e:#}",
                    core.display()
                ))
            })
    };
    std::fs::write(dest, component)
        .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", dest.display())));
}

/// Components have layer 1 in the version field of the preamble; core modules have 0.
fn wasmparser_is_component(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[0..4] == *b"\0asm" && bytes[6..8] == [1, 0]
}

/// Which compiler builds the guest.
enum Toolchain {
    /// rustup's cargo with an installed wasm32 target.
    Rustup,
    /// Debian's rustc-web with std built from source.
    DebianBuildStd,
}

fn detect() -> Option<Toolchain> {
    match env::var("PLANGATE_GUEST_TOOLCHAIN").as_deref() {
        Ok("rustup") => return Some(Toolchain::Rustup),
        Ok("debian") => return Some(Toolchain::DebianBuildStd),
        _ => {}
    }
    let rustup_has_target = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .is_some_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == "wasm32-unknown-unknown")
        });
    if rustup_has_target {
        return Some(Toolchain::Rustup);
    }
    let debian_src = Path::new("/usr/lib/rustlib/src/rust/library/std");
    if Path::new("/usr/bin/rustc").exists()
        && Path::new("/usr/bin/cargo").exists()
        && debian_src.exists()
    {
        return Some(Toolchain::DebianBuildStd);
    }
    None
}

/// Builds `packages` for wasm32 in one cargo run; returns the directory of the `.wasm` files.
fn build_wasm(root: &Path, packages: &[&str]) -> PathBuf {
    let target_dir = env::var_os("PLANGATE_GUEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("guest"));
    println!("cargo:rerun-if-env-changed=PLANGATE_GUEST_TARGET_DIR");
    let Some(toolchain) = detect() else {
        fail(
            "no Rust toolchain here can build wasm32-unknown-unknown.\n\
             hint: run `scripts/setup` (installs Debian's rustc-web, rust-web-src and lld), or\n\
             \x20     `rustup target add wasm32-unknown-unknown` where rustup can download targets.",
        )
    };
    let mut cmd = match toolchain {
        Toolchain::Rustup => Command::new("cargo"),
        Toolchain::DebianBuildStd => Command::new("/usr/bin/cargo"),
    };
    // Nothing of the outer build may leak into the nested one (target dir lock,
    // rustflags for the host target, the outer rustc or wrapper, jobserver).
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if (key.starts_with("CARGO") && key != "CARGO_HOME")
            || key.starts_with("RUST")
            || key == "MAKEFLAGS"
            || key == "MFLAGS"
            || key == "DEBUG"
            || key == "OPT_LEVEL"
            || key == "PROFILE"
            || key == "TARGET"
            || key == "HOST"
            || key == "NUM_JOBS"
        {
            cmd.env_remove(&key);
        }
    }
    cmd.current_dir(root)
        .args([
            "build",
            "--release",
            "--lib",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .args(packages.iter().flat_map(|p| ["-p", p]))
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "false")
        .env("CARGO_PROFILE_RELEASE_PANIC", "abort")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s")
        .env("CARGO_TERM_COLOR", "never")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Ok(home) = env::var("CARGO_HOME") {
        cmd.env("CARGO_HOME", home);
    }
    if let Ok(tc) = env::var("RUSTUP_HOME") {
        cmd.env("RUSTUP_HOME", tc);
    }
    if let Toolchain::DebianBuildStd = toolchain {
        cmd.env("RUSTC", "/usr/bin/rustc")
            .env("RUSTC_BOOTSTRAP", "1")
            .arg("-Zbuild-std=std,panic_abort");
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| fail(&format!("cannot run cargo for the wasm components: {e}")));
    if !status.success() {
        fail("building the wasm components failed (see the cargo output above)");
    }
    target_dir.join("wasm32-unknown-unknown/release")
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    panic!("{message}");
}
