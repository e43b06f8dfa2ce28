//! Replays every committed fuzz seed and crash reproducer (`conformance/fuzz/seeds/<target>/`,
//! `conformance/fuzz/regressions/<target>/`) through the fuzz targets' own invariant checks, so decoder
//! regressions (DER, BPP/SCP03t, certificates and chains, ECDSA, SAIP, config) fail `cargo test` without
//! cargo-fuzz or a nightly toolchain. The checks are `conformance/fuzz/src/checks.rs`, included as is.

use std::path::{Path, PathBuf};

#[path = "../../conformance/fuzz/src/checks.rs"]
#[allow(dead_code)]
mod checks;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conformance/fuzz")
}

/// Runs every file under `<root>/<target>/` through its target; returns how many were run.
fn replay(root: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(root) else { return 0 };
    let mut count = 0;
    for dir in entries.map(|e| e.unwrap().path()).filter(|p| p.is_dir()) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let check = checks::TARGETS
            .iter()
            .find(|(target, _)| *target == name)
            .unwrap_or_else(|| panic!("{}: no fuzz target named {name}", dir.display()))
            .1;
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.retain(|p| p.is_file() && p.file_name().is_some_and(|n| !n.to_string_lossy().starts_with('.')));
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{name}: {} breaks an invariant", file.display());
            count += 1;
        }
    }
    count
}

#[test]
fn seeds_pass_the_fuzz_invariants() {
    let count = replay(&fuzz_dir().join("seeds"));
    assert!(count > 0, "no seeds found under conformance/fuzz/seeds");
}

#[test]
fn crash_reproducers_stay_fixed() {
    replay(&fuzz_dir().join("regressions"));
}

#[test]
fn every_fuzz_target_has_seeds() {
    for (target, _) in checks::TARGETS {
        let dir = fuzz_dir().join("seeds").join(target);
        assert!(std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()), "no seeds for {target}");
    }
}
