//! The compiled-component cache: Cranelift compiles a component once, later runs
//! deserialize the native artifact instead (start-up is a gate's latency).
//!
//! Entries live in `$PLANGATE_CACHE_DIR`, else `$XDG_CACHE_HOME/plangate`, else
//! `~/.cache/plangate`. The file name is keyed by the component's SHA-256 and by
//! wasmtime's compatibility hash of the engine configuration, so a different
//! wasmtime version or config compiles afresh instead of failing. Each entry starts
//! with the SHA-256 of the artifact: a truncated or corrupt entry is ignored and
//! rebuilt, never handed to `deserialize`. `PLANGATE_CACHE=off` disables the cache.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// What happened when a component was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// A valid entry was deserialized.
    Hit,
    /// Compiled and stored (or stored failed silently: the cache is an optimisation).
    Compiled,
    /// An entry existed but was corrupt or incompatible; compiled and replaced.
    Rebuilt,
    /// The cache is off or has no directory; compiled in memory.
    Disabled,
}

/// The cache directory, or `None` when caching is off or no directory is known.
pub fn cache_dir() -> Option<PathBuf> {
    if std::env::var("PLANGATE_CACHE").is_ok_and(|v| v == "off" || v == "0") {
        return None;
    }
    if let Some(dir) = std::env::var_os("PLANGATE_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(xdg).join("plangate"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".cache").join("plangate"))
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The cache file for `bytes` compiled by `engine`.
fn entry_name(engine: &Engine, name: &str, bytes: &[u8]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    env!("CARGO_PKG_VERSION").hash(&mut h);
    format!(
        "{name}-{}-{:016x}.cwasm",
        &sha256_hex(bytes)[..24],
        h.finish()
    )
}

/// Loads `bytes` as a component, through the cache when there is one.
pub fn load_component(
    engine: &Engine,
    name: &str,
    bytes: &[u8],
) -> Result<(Component, CacheOutcome)> {
    let Some(dir) = cache_dir() else {
        return Ok((compile(engine, bytes)?, CacheOutcome::Disabled));
    };
    let path = dir.join(entry_name(engine, name, bytes));
    let mut outcome = CacheOutcome::Compiled;
    if let Ok(stored) = std::fs::read(&path) {
        match verified(&stored) {
            // SAFETY: the artifact was written by `store` below from
            // `Engine::precompile_component` for an engine with the same compatibility
            // hash, and its SHA-256 was just verified, so it is not truncated or altered.
            Some(artifact) => match unsafe { Component::deserialize(engine, artifact) } {
                Ok(c) => return Ok((c, CacheOutcome::Hit)),
                Err(_) => outcome = CacheOutcome::Rebuilt,
            },
            None => outcome = CacheOutcome::Rebuilt,
        }
    }
    let artifact = engine
        .precompile_component(bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot compile the {name} component"))?;
    // SAFETY: the bytes were produced by this engine a moment ago.
    let component = unsafe { Component::deserialize(engine, &artifact) }
        .map_err(anyhow::Error::from)
        .context("cannot load a freshly compiled component")?;
    let _ = store(&path, &artifact);
    Ok((component, outcome))
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component> {
    Component::new(engine, bytes)
        .map_err(anyhow::Error::from)
        .context("cannot compile the component")
}

/// The artifact inside a cache entry if its checksum matches.
fn verified(stored: &[u8]) -> Option<&[u8]> {
    if stored.len() < 32 {
        return None;
    }
    let (sum, artifact) = stored.split_at(32);
    (Sha256::digest(artifact).as_slice() == sum).then_some(artifact)
}

/// Writes an entry atomically (temp file + rename), so readers never see half a file.
fn store(path: &Path, artifact: &[u8]) -> Result<()> {
    let dir = path.parent().context("cache entry has no directory")?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
        std::process::id()
    ));
    let mut data = Vec::with_capacity(32 + artifact.len());
    data.extend_from_slice(&Sha256::digest(artifact));
    data.extend_from_slice(artifact);
    std::fs::write(&tmp, &data)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    Ok(())
}

/// Writes the component's `.wasm` bytes into the cache dir (or the temp dir when
/// there is none) and returns the path: for `plangate component path`.
pub fn export_component(name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let dir = cache_dir().unwrap_or_else(std::env::temp_dir);
    let path = dir.join(format!("{name}-{}.wasm", &sha256_hex(bytes)[..24]));
    if std::fs::read(&path).is_ok_and(|existing| existing == bytes) {
        return Ok(path);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_verified_before_use() {
        let artifact = b"native code".to_vec();
        let mut entry = Sha256::digest(&artifact).to_vec();
        entry.extend_from_slice(&artifact);
        assert_eq!(verified(&entry), Some(&artifact[..]));
        let mut corrupt = entry.clone();
        *corrupt.last_mut().unwrap() ^= 1;
        assert_eq!(verified(&corrupt), None);
        assert_eq!(verified(&entry[..entry.len() - 1]), None);
        assert_eq!(verified(&entry[..10]), None);
    }
}
