//! Location of the MLPerf Tiny reference models that tests and benchmarks read.

use std::path::PathBuf;

/// Environment variable that overrides the models folder.
pub const MODELS_DIR_VAR: &str = "HYPERC_MODELS_DIR";

/// Environment variable that turns a missing models folder into a test failure (set by CI).
pub const REQUIRE_MODELS_VAR: &str = "HYPERC_REQUIRE_MODELS";

/// Returns the models folder: `$HYPERC_MODELS_DIR`, or `../shared/models/mlperf-tiny`
/// beside the repository root.
pub fn models_dir() -> PathBuf {
    match std::env::var_os(MODELS_DIR_VAR) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models/mlperf-tiny"),
    }
}

/// Returns `models_dir()/relative` for a test that needs it, or `None` after printing a
/// `SKIPPED` line when it is missing.
///
/// # Panics
///
/// Panics when the file is missing and `HYPERC_REQUIRE_MODELS=1`, so CI cannot pass
/// without running the model tests.
pub fn require_model_file(test: &str, relative: &str) -> Option<PathBuf> {
    let path = models_dir().join(relative);
    if path.exists() {
        return Some(path);
    }
    if std::env::var(REQUIRE_MODELS_VAR).is_ok_and(|v| v == "1") {
        panic!("{test}: {} not found and {REQUIRE_MODELS_VAR}=1", path.display());
    }
    eprintln!("SKIPPED: {test}: {} not found (set {MODELS_DIR_VAR})", path.display());
    None
}
