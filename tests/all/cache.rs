//! The compiled-component cache: reused across runs, keyed, and robust to corruption.

use std::process::Command;

fn check(cache: &std::path::Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_plangate"))
        .args([
            "check",
            "--region",
            "cn-hangzhou",
            "--at",
            "2023-11-22T15:00:00+08:00",
            "--format",
            "json",
            "--response",
        ])
        .arg(crate::support::fixture("seed-sample-response.json"))
        .env("PLANGATE_CACHE_DIR", cache)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "cwasm"));
    v
}

#[test]
fn the_compiled_component_is_cached_reused_and_rebuilt_when_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("nested/cache");
    let (code, first) = check(&cache);
    assert_eq!(code, 1);
    let files = entries(&cache);
    assert_eq!(files.len(), 1, "one entry after the first run: {files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.starts_with("plangate-gate-") && name.ends_with(".cwasm"),
        "{name}"
    );
    let stored = std::fs::read(&files[0]).unwrap();

    // A second run reuses the entry untouched and decides the same.
    let (code, second) = check(&cache);
    assert_eq!((code, &second), (1, &first));
    assert_eq!(std::fs::read(&files[0]).unwrap(), stored);

    // Corrupt the entry (flip a byte, then truncate): it is ignored and rebuilt.
    let mut bad = stored.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    std::fs::write(&files[0], &bad).unwrap();
    let (code, third) = check(&cache);
    assert_eq!((code, &third), (1, &first));
    assert_eq!(std::fs::read(&files[0]).unwrap(), stored, "rebuilt entry");
    std::fs::write(&files[0], &stored[..100]).unwrap();
    let (code, fourth) = check(&cache);
    assert_eq!((code, &fourth), (1, &first));
    assert_eq!(std::fs::read(&files[0]).unwrap(), stored, "rebuilt entry");

    // An unwritable cache location is not an error: the gate still decides.
    let blocker = dir.path().join("file-not-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let (code, fifth) = check(&blocker.join("cache"));
    assert_eq!((code, &fifth), (1, &first));
}

#[test]
fn component_path_and_wit_are_printed_for_other_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_plangate"))
        .args(["component", "path"])
        .env("PLANGATE_CACHE_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let path = String::from_utf8(out.stdout).unwrap();
    let path = std::path::Path::new(path.trim_end());
    assert!(path.starts_with(dir.path()), "{path:?}");
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(bytes, plangate::component::GATE_COMPONENT);
    let out = Command::new(env!("CARGO_BIN_EXE_plangate"))
        .args(["component", "wit"])
        .output()
        .unwrap();
    let wit = String::from_utf8(out.stdout).unwrap();
    assert!(wit.starts_with("/// plangate"), "{wit}");
    assert!(wit.contains("package plangate:gate@0.1.0;"));
}
